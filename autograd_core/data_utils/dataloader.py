"""``DataLoader``: batches from a data set, in the main process or in worker processes.

Which samples, in which order: a sampler (``sampler=``: any iterable of indices,
e.g. a ``DistributedSampler``; by default ``SequentialSampler``, or
``RandomSampler`` with ``shuffle=True``), grouped by a ``BatchSampler`` into
batches of ``batch_size`` (or given whole with ``batch_sampler=``). An
``IterableDataset`` streams its samples instead and takes no sampler.

How a batch is made: ``collate_fn`` turns the list of samples into a batch
(``default_collate`` stacks arrays into Tensors, recursing into tuples, lists
and dicts). Without a ``collate_fn``, a ``TensorDataset`` (or a ``Subset`` of
one) is batched by fancy indexing, whole batches at once, not sample by sample.

Where: in the calling process (``num_workers=0``), or in ``num_workers`` worker
processes, each sent batches of indices round-robin, ``prefetch_factor`` batches
ahead, the results handed out in the sampler's order (``in_order=False``: as
they come). The workers start with ``fork`` where the platform has it (Linux),
as PyTorch's do there: a worker starts in milliseconds, shares the data set's
memory with the parent instead of receiving a pickled copy, and scripts need no
``if __name__ == "__main__":`` guard. A forked worker can run every kernel (a
``collate_fn`` or transform with convolutions): in a child forked after the
kernels ran, they run their serial twins (``kernels/__init__.py``; GNU OpenMP
cannot run there). ``multiprocessing_context="spawn"`` (or ``"forkserver"``)
starts fresh interpreters instead: slower to start (each imports numpy and
autograd_core), and everything the workers need must pickle.

Each worker seeds autograd_core's generator, Python's ``random`` and numpy's
global state with ``base_seed + worker_id`` (``base_seed`` new for every pass,
spawned from ``generator`` or the package generator without advancing it), so
random augmentation differs between workers and repeats under ``manual_seed``,
and the batches come in the same order as with ``num_workers=0``. An
exception in a worker is raised again in the parent with the worker's
traceback; a worker that dies (killed, crashed) is reported with its exit
status. ``pin_memory`` and ``pin_memory_device`` are accepted and do nothing
(there is no GPU to pin memory for).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import pickle
import queue
import signal
import time
from collections import namedtuple

import numpy as np

from .. import _settings
from ..random import numpy_rng
from ..tensor import Tensor
from .dataset import IterableDataset, has_batches
from .sampler import BatchSampler, RandomSampler, SequentialSampler
from .worker import BATCH, ERROR, EXHAUSTED, reraise, worker_loop

__all__ = ["DataLoader", "default_collate", "default_convert"]


# --------------------------------------------------------------------------- collation

def default_collate(samples):
    """Stack a list of samples into a batch: arrays and numbers to Tensors, recursing into tuples, lists and dicts.

    Python floats become the default dtype (float32), ints int64, bools bool; strings stay a list.
    """
    if not samples:
        raise ValueError("default_collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        return Tensor._wrap(np.stack([s.data if isinstance(s, Tensor) else s for s in samples]))
    if isinstance(first, (bool, np.bool_)):
        return Tensor._wrap(np.asarray(samples, dtype=np.bool_))
    if isinstance(first, (int, np.integer)):
        return Tensor._wrap(np.asarray(samples, dtype=np.int64))
    if isinstance(first, (float, np.floating)):
        dt = _settings.dtype if isinstance(first, float) else first.dtype
        return Tensor._wrap(np.asarray(samples, dtype=dt))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple: same type, fields batched
        return type(first)(*(default_collate(list(c)) for c in zip(*samples)))
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in samples):
            raise ValueError("default_collate: samples of one batch have different lengths")
        cols = [default_collate(list(c)) for c in zip(*samples)]
        return tuple(cols) if isinstance(first, tuple) else cols
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "pass a collate_fn that can")


def default_convert(sample):
    """One sample without batching (``batch_size=None``): arrays to Tensors, recursing into containers."""
    if isinstance(sample, np.ndarray) and sample.dtype.kind in "biuf":
        return Tensor._wrap(sample)
    if isinstance(sample, dict):
        return {k: default_convert(v) for k, v in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (tuple, list)):
        out = [default_convert(v) for v in sample]
        return tuple(out) if isinstance(sample, tuple) else out
    return sample


# --------------------------------------------------------------------------- making one batch

class _MapFetcher:
    """Makes one batch of a map-style data set from its indices (in the main process or a worker)."""

    def __init__(self, dataset, auto_collation, collate_fn, fast):
        self.dataset, self.auto_collation, self.collate_fn, self.fast = dataset, auto_collation, collate_fn, fast

    def __call__(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        if self.fast:
            return self.dataset._get_batch(np.asarray(indices, dtype=np.int64))
        return self.collate_fn([self.dataset[int(i)] for i in indices])


class _StreamFetcher:
    """Makes the next batch of an iterable data set's stream."""

    END = object()

    def __init__(self, auto_collation, collate_fn, batch_size, drop_last):
        self.auto_collation, self.collate_fn = auto_collation, collate_fn
        self.batch_size, self.drop_last = batch_size, drop_last

    @staticmethod
    def start(dataset):
        return iter(dataset)

    def next(self, stream):
        if not self.auto_collation:
            for item in stream:
                return self.collate_fn(item)
            return self.END
        items = list(itertools.islice(stream, self.batch_size))
        if not items or (self.drop_last and len(items) < self.batch_size):
            return self.END
        return self.collate_fn(items)


# --------------------------------------------------------------------------- the loader

def _check_int(name, v, minimum):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"DataLoader: {name} must be an int >= {minimum}, got {v!r}")
    return int(v)


class DataLoader:
    """Iterate over a data set in batches (``torch.utils.data.DataLoader``'s arguments and meanings).

    Parameters
    ----------
    dataset : Dataset or IterableDataset
    batch_size : int or None
        Samples per batch; None yields samples one by one (converted, not collated).
    shuffle : bool
        A new random order every epoch (a ``RandomSampler``), from ``generator`` or the
        package generator (so ``manual_seed`` repeats it).
    sampler : iterable of indices, optional
        The order to load in (``RandomSampler``, ``WeightedRandomSampler``, ``DistributedSampler``...);
        not with ``shuffle``. Iterated anew every epoch.
    batch_sampler : iterable of lists of indices, optional
        Whole batches of indices; excludes ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``.
    num_workers : int
        Worker processes (0: load in this process). See the module docstring.
    collate_fn : callable, optional
        A list of samples -> a batch (default ``default_collate``).
    pin_memory : bool
        Accepted; does nothing (no GPU).
    drop_last : bool
        Drop the last batch if it is smaller than ``batch_size``.
    timeout : float
        With workers: seconds to wait for a batch before raising (0: no limit).
    worker_init_fn : callable, optional
        Called in each worker as ``worker_init_fn(worker_id)``, after seeding.
    multiprocessing_context : str or context, optional
        ``"fork"`` (the default where available), ``"spawn"`` or ``"forkserver"``.
    generator : autograd_core.Generator, optional
        For the shuffling and the workers' base seed.
    prefetch_factor : int, optional
        Batches each worker works ahead (default 2; only with workers).
    persistent_workers : bool
        Keep the workers between epochs (only with workers).
    in_order : bool
        With workers: batches in the sampler's order (True) or as they are ready.
    seed : int, optional
        Shorthand for ``generator=Generator().manual_seed(seed)``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True, seed=None):
        self.num_workers = _check_int("num_workers", num_workers, 0)
        if batch_size is not None:
            _check_int("batch_size", batch_size, 1)
        if not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"DataLoader: timeout must be a number >= 0, got {timeout!r}")
        if self.num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor applies to worker processes only; set num_workers > 0 "
                             "or leave prefetch_factor out")
        if self.num_workers == 0 and persistent_workers:
            raise ValueError("DataLoader: persistent_workers needs num_workers > 0")
        self.prefetch_factor = 2 if prefetch_factor is None else _check_int("prefetch_factor", prefetch_factor, 1)
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give generator or seed, not both")
            generator = np.random.default_rng(seed)
        numpy_rng(generator, "DataLoader")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {type(worker_init_fn).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader: an IterableDataset decides its own order; expected shuffle unset, "
                                 f"got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader: an IterableDataset takes no sampler or batch_sampler (it decides "
                                 "its own order)")
        elif sampler is not None:
            if shuffle:
                raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive (the sampler decides "
                                 "the order; RandomSampler, or a DistributedSampler with shuffle=True, shuffles)")
            if not hasattr(sampler, "__iter__"):
                raise TypeError(f"DataLoader: sampler must be an iterable of indices, got {type(sampler).__name__}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler gives whole batches, so it excludes batch_size, shuffle, "
                                 "sampler and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: drop_last needs a batch_size (batch_size=None loads samples one by one)")

        if not self._iterable and sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if not self._iterable and batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))

        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = bool(persistent_workers)
        self.in_order = bool(in_order)
        self._workers = None

        auto = self._auto_collation
        collate = collate_fn or (default_collate if auto else default_convert)
        if self._iterable:
            self._fetch = _StreamFetcher(auto, collate, self.batch_size, self.drop_last)
        else:
            self._fetch = _MapFetcher(dataset, auto, collate, fast=auto and collate_fn is None and has_batches(dataset))

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (self._iterable and self.batch_size is not None)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)  # TypeError if the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)

    def _index_batches(self):
        """What each task loads: arrays of indices (batches), or single indices (batch_size=None)."""
        if self.batch_sampler is None:
            return iter(self.sampler)
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler._arrays()
        return (np.asarray(b, dtype=np.int64) for b in self.batch_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return self._in_process()
        if self.persistent_workers:
            if self._workers is None or not self._workers.running:
                self._workers = _Workers(self)
            return _WorkerIterator(self, self._workers, own=False)
        return _WorkerIterator(self, _Workers(self), own=True)

    def _in_process(self):
        fetch = self._fetch
        if self._iterable:
            stream = fetch.start(self.dataset)
            while True:
                batch = fetch.next(stream)
                if batch is fetch.END:
                    return
                yield batch
        for indices in self._index_batches():
            yield fetch(indices)

    def _context(self):
        mc = self.multiprocessing_context
        if mc is None:
            return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        return mp.get_context(mc) if isinstance(mc, str) else mc

    def __del__(self):
        w = getattr(self, "_workers", None)
        if w is not None:
            w.shutdown()


# --------------------------------------------------------------------------- worker processes

def _base_seed(generator):
    """A new base seed for the workers, drawn without advancing ``generator``'s stream.

    A child of the generator's seed sequence (numpy's ``spawn``): the sampler's draws, and so
    the order of the batches, are the same whatever ``num_workers`` is; a new child per pass
    gives the workers new seeds every epoch, repeated by ``manual_seed``.
    """
    rng = numpy_rng(generator)
    try:
        rng = rng.spawn(1)[0]
    except (TypeError, AttributeError, ValueError):  # no seed sequence to spawn from: draw instead
        pass
    return int(rng.integers(0, 2 ** 62))


class _Workers:
    """The worker processes of a loader: their task queues and the shared result queue."""

    POLL = 0.2  # seconds between checks that the workers are alive while waiting for a batch

    def __init__(self, loader):
        ctx = loader._context()
        n = loader.num_workers
        self.results = ctx.Queue()
        self.tasks = [ctx.Queue() for _ in range(n)]
        self.done = ctx.Event()
        base_seed = _base_seed(loader.generator)
        self.procs = []
        for i in range(n):
            p = ctx.Process(target=worker_loop, name=f"DataLoader-worker-{i}", daemon=True,
                            args=(i, n, base_seed + i, loader.dataset, loader._fetch, loader.worker_init_fn,
                                  self.tasks[i], self.results, self.done))
            p.start()
            self.procs.append(p)
        self.epoch = 0
        self.running = True

    def check_alive(self):
        for i, p in enumerate(self.procs):
            code = p.exitcode
            if code is not None:
                how = f"exit status {code}"
                if code < 0:
                    try:
                        how = f"signal {signal.Signals(-code).name}"
                    except ValueError:
                        how = f"signal {-code}"
                self.shutdown()
                raise RuntimeError(
                    f"DataLoader worker {i} (pid {p.pid}) exited unexpectedly ({how}). If it was killed for memory, "
                    "use fewer workers or smaller batches; num_workers=0 runs the same loading in this process, "
                    "where a crash shows where it happened")

    def shutdown(self):
        if not self.running:
            return
        self.running = False
        self.done.set()
        for q in self.tasks:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5.0
        for p in self.procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(1.0)
        for q in self.tasks + [self.results]:
            q.cancel_join_thread()
            q.close()


_Pending = namedtuple("_Pending", "kind payload worker")


class _WorkerIterator:
    """One pass over the loader with worker processes (tasks out, results back in order)."""

    def __init__(self, loader, workers, own):
        self.loader, self.workers, self.own = loader, workers, own
        workers.epoch += 1
        self.epoch = workers.epoch
        n = len(workers.procs)
        if loader._iterable:
            for q in workers.tasks:
                q.put(("reset", self.epoch))
            self.indices = None
        else:
            self.indices = loader._index_batches()
        self.active = [True] * n
        self.turn = itertools.cycle(range(n))
        self.sent = 0           # ids of tasks sent so far
        self.next_out = 0       # with in_order: the id to hand out next
        self.outstanding = set()
        self.ready = {}
        self.sampler_done = False
        self.finished = False
        for _ in range(loader.prefetch_factor * n):
            self._send()

    def __iter__(self):
        return self

    def __len__(self):
        return len(self.loader)

    def _send(self):
        if self.sampler_done or not any(self.active):
            return
        if self.indices is not None:
            try:
                idx = next(self.indices)
            except StopIteration:
                self.sampler_done = True
                return
        else:
            idx = None
        while True:
            w = next(self.turn)
            if self.active[w]:
                break
        self.workers.tasks[w].put((self.epoch, self.sent, idx))
        self.outstanding.add(self.sent)
        self.sent += 1

    def _receive(self):
        timeout = self.loader.timeout
        start = time.monotonic()
        while True:
            wait = _Workers.POLL if not timeout else min(_Workers.POLL, max(0.0, start + timeout - time.monotonic()))
            try:
                epoch, task, worker, kind, payload = self.workers.results.get(timeout=wait)
            except queue.Empty:
                self.workers.check_alive()
                if timeout and time.monotonic() - start >= timeout:
                    self._stop()
                    raise RuntimeError(f"DataLoader: no batch from the workers within timeout={timeout} s") from None
                continue
            if task == -1:  # worker_init_fn failed
                self._stop()
                reraise(payload)
            if epoch != self.epoch:  # left over from an earlier, abandoned pass (persistent workers)
                continue
            self.outstanding.discard(task)
            self.ready[task] = _Pending(kind, payload, worker)
            return

    def __next__(self):
        if self.finished:
            raise StopIteration
        while True:
            if self.loader.in_order:
                task = self.next_out if self.next_out in self.ready else None
            else:
                task = next(iter(self.ready), None)
            if task is not None:
                got = self.ready.pop(task)
                if self.loader.in_order:
                    self.next_out += 1
                if got.kind == EXHAUSTED:
                    self.active[got.worker] = False
                    self._send()
                    continue
                self._send()
                if got.kind == ERROR:
                    self._stop()
                    reraise(got.payload)
                return pickle.loads(got.payload)
            if not self.outstanding:
                self._stop()
                raise StopIteration
            self._receive()

    def _stop(self):
        self.finished = True
        if self.own:
            self.workers.shutdown()

    def __del__(self):
        try:
            if self.own:
                self.workers.shutdown()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
