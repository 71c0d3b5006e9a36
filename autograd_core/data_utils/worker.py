"""DataLoader worker processes: the loop each worker runs, and ``get_worker_info()``.

A worker receives tasks on its own queue and puts results on the queue all
workers share. A task is ``(epoch, task_id, indices)``: for a map-style data set
the indices of one batch (or one sample without batching), for an iterable data
set None ("your next batch"). ``("reset", epoch)`` starts a worker's iteration
of an iterable data set over (persistent workers); ``None`` ends the worker, and
once the ``done`` event is set the tasks still queued before it are skipped.

A result is ``(epoch, task_id, worker_id, kind, payload)``. The batch is pickled
here, in the worker, so that a batch that cannot be pickled is a worker error
reported to the parent (``multiprocessing.Queue`` would otherwise fail in its
feeder thread, silently, and leave the parent waiting); an exception becomes
``("error", (type, message with the worker's traceback))``, raised again in the
parent.
"""

from __future__ import annotations

import os
import pickle
import random
import traceback
from collections import namedtuple

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
WorkerInfo.__doc__ = """What a worker process knows about itself (``get_worker_info()`` inside a worker)."""

_info = None

BATCH, ERROR, EXHAUSTED = "batch", "error", "exhausted"


def get_worker_info():
    """Inside a DataLoader worker process: its ``WorkerInfo`` (id, num_workers, seed, dataset); else None.

    An ``IterableDataset`` uses it to give each worker its own share of the stream.
    """
    return _info


def error_payload(exc, where):
    """``(exception type, message)`` for the parent: the message carries this process's traceback."""
    msg = f"Caught {type(exc).__name__} {where}.\nOriginal traceback (most recent call last):\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)[1:])
    exc_type = type(exc)
    try:
        pickle.dumps(exc_type)
    except Exception:  # a class defined locally cannot travel: say its name instead
        exc_type = RuntimeError
    return exc_type, msg


def reraise(payload):
    """Raise in the parent what a worker caught, with the worker's traceback in the message."""
    exc_type, msg = payload
    if issubclass(exc_type, KeyError):  # KeyError prints repr(message): keep the traceback's lines apart
        msg = _Message(msg)
    try:
        exc = exc_type(msg)
    except Exception:
        exc = RuntimeError(msg)
    raise exc


class _Message(str):
    def __repr__(self):
        return str(self)


def _seed_everything(seed):
    from ..random import manual_seed

    manual_seed(seed)                   # autograd_core's generator: transforms, dropout, randn
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)      # numpy's legacy global state, which forked workers would share


def worker_loop(worker_id, num_workers, seed, dataset, fetch, worker_init_fn, tasks, results, done):
    """The body of a worker process (``fetch(indices)`` makes one batch; see ``dataloader.py``)."""
    global _info
    _info = WorkerInfo(worker_id, num_workers, seed, dataset)
    _seed_everything(seed)
    epoch = 0
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as e:
        results.put((epoch, -1, worker_id, ERROR, error_payload(e, f"in worker_init_fn of DataLoader worker process "
                                                                    f"{worker_id} (pid {os.getpid()})")))
        return
    stream = None
    while True:
        try:
            task = tasks.get()
        except (EOFError, OSError, KeyboardInterrupt):  # the parent went away
            return
        if task is None:
            results.cancel_join_thread()  # nobody reads what is still queued: exit without flushing it
            return
        if done.is_set():  # shutting down: skip the tasks still queued, up to the None
            continue
        if task[0] == "reset":
            epoch, stream = task[1], None
            continue
        epoch, task_id, indices = task
        try:
            if indices is None:  # iterable data set: the next batch of this worker's own stream
                if stream is None:
                    stream = fetch.start(dataset)
                batch = fetch.next(stream)
                if batch is fetch.END:
                    results.put((epoch, task_id, worker_id, EXHAUSTED, None))
                    continue
            else:
                batch = fetch(indices)
            payload = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:
            results.put((epoch, task_id, worker_id, ERROR,
                         error_payload(e, f"in DataLoader worker process {worker_id} (pid {os.getpid()})")))
            continue
        results.put((epoch, task_id, worker_id, BATCH, payload))
