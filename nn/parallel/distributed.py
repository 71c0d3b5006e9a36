"""``DistributedDataParallel``: the same model on every rank, gradients averaged by backward.

How a step goes (``loss = ddp(x); loss.backward(); opt.step()`` on every rank):

- Wrapping checks that every rank holds the same model (parameter and buffer names,
  shapes and dtypes; a mismatch raises on every rank, naming the first difference) and
  copies rank 0's parameters and buffers to the others.
- The parameters that require grad are grouped into buckets, in reverse registration order
  (roughly the order backward produces their gradients), one dtype per bucket, up to
  ``bucket_cap_mb``. Each bucket owns one flat array, and each parameter's ``.grad`` is a view
  into it, so a bucket is averaged by a single all-reduce with no packing.
- Forward (with grad mode on) hands the module, for each bucket, its parameters through one
  identity node; its backward runs once every gradient of the bucket is final, and adds them
  into the bucket's array (so ``.grad`` accumulates, as without DDP). When the backward pass
  ends, the buckets are summed across ranks in a fixed order, the same on every rank, and
  divided by the world size.
- A parameter that got no gradient on a rank (unused in that forward) contributes zeros, so
  the other ranks never wait for it. With ``find_unused_parameters=True`` one small extra
  all-reduce tells whether any rank used it: if none did, its ``.grad`` is left as it was (None
  after ``zero_grad()``), exactly as in one process.
- ``no_sync()``: forwards inside it record no DDP node; their backward accumulates into
  ``.grad`` locally, and the first synchronised backward after it averages the total.
- Buffers (batch norm's running statistics) are copied from rank 0 before every forward
  with grad mode on (``broadcast_buffers=True``, as in PyTorch). Batch norm normalises each
  rank's batch with that batch's statistics; ``nn.SyncBatchNorm`` uses the global batch's.

Reducing after backward rather than overlapping it with backward is a measured choice: on
two ranks sharing two cores, non-blocking all-reduces started during backward were no faster
(LeNet-5: 7.79 against 7.55 ms per step), because MPICH progresses them only inside MPI calls
and no core is idle; see ``benchmarks/RESULTS.md`` ("Distributed data parallel").
"""

from __future__ import annotations

import contextlib
import functools
import weakref

import numpy as np

from autograd_core import from_numpy, increment_version, is_grad_enabled
from autograd_core import distributed as dist
from autograd_core.ops.distributed import grads_ready

from ..module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_MB = 1.0   # PyTorch's first bucket is small too: the last layers' gradients go first


class _Bucket:
    def __init__(self, params, dtype):
        self.params = params
        sizes = [p.data.size for p in params]
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        self.views, offset = [], 0
        for p, n in zip(params, sizes):
            self.views.append(from_numpy(self.flat[offset:offset + n].reshape(p.data.shape)))
            offset += n
        self.ready = False
        self.had_grad = [False] * len(params)


class _Reducer:
    """The buckets of one DistributedDataParallel and their all-reduce at the end of each backward.

    ``overlap=True`` starts each bucket's all-reduce (non-blocking) as soon as the bucket and
    all buckets before it are ready, during backward, and waits for them at its end; the
    default, ``False``, reduces every bucket after backward (the faster here: see the module
    docstring).
    """

    def __init__(self, params, bucket_cap_mb, find_unused, overlap=False):
        self.find_unused = find_unused
        self.overlap = overlap
        self.buckets = []
        cap = min(_FIRST_BUCKET_MB, bucket_cap_mb) * 2 ** 20
        current, size, dtype = [], 0, None
        for p in reversed(params):
            nbytes = p.data.nbytes
            if current and (p.data.dtype != dtype or size + nbytes > cap):
                self.buckets.append(_Bucket(current, dtype))
                current, size = [], 0
                cap = bucket_cap_mb * 2 ** 20
            current.append(p)
            size += nbytes
            dtype = p.data.dtype
        if current:
            self.buckets.append(_Bucket(current, dtype))
        # a leaf every bucket node sends a zero to: its hook runs when the backward pass is over
        self.sentinel = from_numpy(np.zeros((), dtype=np.float64)).requires_grad_()
        # (through a weak reference: the sentinel's hook must not keep the reducer in a cycle)
        me = weakref.ref(self)
        self.sentinel.register_hook(lambda g: me()._backward_done(g) if me() is not None else None)
        self.in_round = False
        self.next = 0          # the next bucket to start reducing (overlap)
        self.works = []
        self.calls = 0         # all-reduce rounds done (for tests and benchmarks)

    # ---------------------------------------------------------------- during backward
    def _bucket_ready(self, index, grads):
        b = self.buckets[index]
        if self.overlap and index < self.next:
            raise RuntimeError("DistributedDataParallel: a bucket's gradients arrived after its all-reduce started "
                               "(a parameter used by two forwards before one backward); this needs the default "
                               "reduction after backward")
        self.in_round = True
        for i, (p, v, g) in enumerate(zip(b.params, b.views, grads)):
            if g is None:
                continue
            b.had_grad[i] = True
            g = g.data
            old = p.grad
            if old is v:
                np.add(v.data, g, out=v.data)
            elif old is None:
                np.copyto(v.data, g)
            else:   # a gradient accumulated without DDP (in no_sync, or set by the user)
                np.add(old.data, g, out=v.data)
            p.grad = v
        b.ready = True
        if self.overlap:
            self._start(force=False)

    def _start(self, force):
        """Start the non-blocking all-reduce of the ready buckets, in bucket order (overlap mode)."""
        world = dist.get_world_size()
        while self.next < len(self.buckets) and (force or self.buckets[self.next].ready):
            b = self.buckets[self.next]
            _fill_missing(b)
            if world > 1:
                self.works.append(dist.all_reduce(b.flat, async_op=True))
            self.next += 1
        if not force:
            for w in self.works:   # let MPI progress the started ones
                w.is_completed()

    def _backward_done(self, _grad):
        """The sentinel's hook: the backward pass is over, every gradient this rank will get is in."""
        if not self.in_round:   # (a backward that reached none of the buckets)
            return None
        self.in_round = False
        self.calls += 1
        world = dist.get_world_size()
        if self.overlap:
            self._start(force=True)
            for w in self.works:
                w.wait()
            self.works, self.next = [], 0
        else:
            for b in self.buckets:   # one fixed order on every rank
                _fill_missing(b)
                if world > 1:
                    dist.all_reduce(b.flat)
        used = None
        if self.find_unused and world > 1:
            used = np.array([h for b in self.buckets for h in b.had_grad], dtype=np.int32)
            dist.all_reduce(used)
        k = 0
        for b in self.buckets:
            if world > 1:
                np.divide(b.flat, world, out=b.flat)
            for i, (p, v) in enumerate(zip(b.params, b.views)):
                # after find_unused_parameters, a .grad that no rank touched stays None
                if b.had_grad[i] or p.grad is not None or used is None or used[k + i]:
                    p.grad = v
            k += len(b.params)
            b.had_grad = [False] * len(b.params)
            b.ready = False
        return None


def _fill_missing(b):
    """Before a bucket is reduced: a parameter without a new gradient contributes its ``.grad`` (or zeros)."""
    for i, (p, v) in enumerate(zip(b.params, b.views)):
        if not b.had_grad[i]:
            old = p.grad
            if old is None:
                v.data.fill(0)
            elif old is not v:
                np.copyto(v.data, old.data)


class DistributedDataParallel(Module):
    """Data-parallel training over the ranks of ``autograd_core.distributed`` (PyTorch's name and semantics).

    Every rank runs the same script on its own share of the data (see
    ``autograd_core.data.DistributedSampler``); after ``loss.backward()`` each parameter's
    ``.grad`` holds the average over ranks of the ranks' gradients, so with equal
    per-rank batches a step equals one process's step on the union of the batches.

    Parameters
    ----------
    module : nn.Module
        The model; reach it as ``.module`` (e.g. to save ``ddp.module.state_dict()``).
    broadcast_buffers : bool
        Copy rank 0's buffers to every rank before each forward with grad mode on.
    bucket_cap_mb : float
        Bucket size (the first bucket holds at most 1 MB, as in PyTorch).
    find_unused_parameters : bool
        Leave ``.grad`` untouched for parameters no rank used in the forward (one small
        extra all-reduce per step). Without it such a parameter gets a zero gradient;
        either way no rank waits for a gradient that will not come.
    device_ids, output_device
        Must be None (CPU only); accepted so PyTorch code runs unchanged.
    """

    def __init__(self, module, device_ids=None, output_device=None, broadcast_buffers=True, process_group=None,
                 bucket_cap_mb=25, find_unused_parameters=False, _overlap=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel: device_ids and output_device must be None (CPU modules only)")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb!r}")
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: only the default process group (process_group=None) "
                                      "exists")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: the default process group has not been initialized; call "
                               "autograd_core.distributed.init_process_group(backend='mpi') first")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self._check_same_model()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._sync_module_states()
        self.require_backward_grad_sync = True
        object.__setattr__(self, "_reducer", _Reducer([p for _, p in named], bucket_cap_mb,
                                                      find_unused_parameters, _overlap))
        # where each parameter sits in the modules, to hand the module the bucket nodes' outputs
        ids = {id(p) for _, p in named}
        object.__setattr__(self, "_slots", [(m, k, p) for m in module.modules()
                                            for k, p in m._parameters.items() if p is not None and id(p) in ids])

    # ---------------------------------------------------------------- wrap time
    def _signature(self):
        params = [(n, tuple(p.shape), str(p.dtype), bool(p.requires_grad))
                  for n, p in self.module.named_parameters()]
        buffers = [(n, tuple(b.shape), str(b.dtype)) for n, b in self.module.named_buffers()]
        return type(self.module).__name__, params, buffers

    def _check_same_model(self):
        sigs = [None] * dist.get_world_size()
        dist.all_gather_object(sigs, self._signature())
        ref = sigs[0]
        for rank, sig in enumerate(sigs[1:], 1):
            if sig != ref:
                raise RuntimeError("DistributedDataParallel: the ranks hold different models, so their gradients "
                                   f"cannot be averaged: {_first_difference(ref, sig, rank)}. Build the same model "
                                   "on every rank (rank 0's parameter values are then copied to all).")

    def _sync_module_states(self):
        """Copy rank 0's parameters and buffers to every rank."""
        if dist.get_world_size() == 1:
            return
        tensors = [p for p in self.module.parameters()] + [b for b in self.module.buffers()]
        _broadcast_coalesced(tensors)

    # ---------------------------------------------------------------- forward
    def forward(self, *inputs, **kwargs):
        module = self.module
        if not is_grad_enabled():
            return module(*inputs, **kwargs)
        if self.broadcast_buffers and self.require_backward_grad_sync and dist.get_world_size() > 1:
            buffers = list(module.buffers())
            if buffers:
                _broadcast_coalesced(buffers)
        if not self.require_backward_grad_sync or not self._slots:
            return module(*inputs, **kwargs)   # no_sync(): backward accumulates locally, as without DDP
        r = self._reducer
        views = {}
        for i, b in enumerate(r.buckets):
            outs = grads_ready(b.params, functools.partial(r._bucket_ready, i), r.sentinel)
            for p, v in zip(b.params, outs):
                views[id(p)] = v
        slots = self._slots
        for m, k, p in slots:
            m._parameters[k] = views[id(p)]
        try:
            return module(*inputs, **kwargs)
        finally:
            for m, k, p in slots:
                m._parameters[k] = p

    @contextlib.contextmanager
    def no_sync(self):
        """Inside it, backward accumulates gradients on each rank without communicating.

        The first backward after it (of a forward outside it) averages the accumulated
        total, e.g. for gradient accumulation over several micro-batches.
        """
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    def extra_repr(self):
        return f"world_size={dist.get_world_size() if dist.is_initialized() else '?'}, " \
               f"buckets={len(self._reducer.buckets)}"


def _broadcast_coalesced(tensors):
    """Rank 0's values of ``tensors`` on every rank: one broadcast per dtype, through a flat array."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t.data.dtype, []).append(t)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([t.data.reshape(-1) for t in group]) if dist.get_rank() == 0 else \
            np.empty(sum(t.data.size for t in group), dtype=dtype)
        dist.broadcast(flat, src=0)
        offset = 0
        for t in group:
            n = t.data.size
            np.copyto(t.data, flat[offset:offset + n].reshape(t.data.shape))
            offset += n
        increment_version(*group)


def _first_difference(ref, sig, rank):
    (name0, p0, b0), (name1, p1, b1) = ref, sig
    if name0 != name1:
        return f"rank 0 wraps a {name0}, rank {rank} a {name1}"
    for what, a, b in (("parameters", p0, p1), ("buffers", b0, b1)):
        if len(a) != len(b):
            return f"rank 0's model has {len(a)} {what}, rank {rank}'s has {len(b)}" + _named_diff(a, b, rank)
        for x, y in zip(a, b):
            if x != y:
                return (f"{what[:-1]} {x[0]!r} has shape {x[1]}, dtype {x[2]} on rank 0 but {y[0]!r} has shape "
                        f"{y[1]}, dtype {y[2]} on rank {rank}" +
                        ("" if x[3:] == y[3:] else f" (requires_grad {x[3]} on rank 0, {y[3]} on rank {rank})"))
    return "they differ"   # pragma: no cover


def _named_diff(a, b, rank):
    na, nb = [x[0] for x in a], [x[0] for x in b]
    only0 = [n for n in na if n not in nb]
    only1 = [n for n in nb if n not in na]
    parts = []
    if only0:
        parts.append(f"only rank 0 has {', '.join(only0[:3])}" + (" ..." if len(only0) > 3 else ""))
    if only1:
        parts.append(f"only rank {rank} has {', '.join(only1[:3])}" + (" ..." if len(only1) > 3 else ""))
    return " (" + "; ".join(parts) + ")" if parts else ""
