"""Collective communication over MPI, with ``torch.distributed``'s names.

Run one process per rank under MPI's launcher, and they all see each other::

    mpiexec -n 2 python train.py          # pip install -e ".[distributed]" brings mpi4py and MPICH

    import autograd_core.distributed as dist
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    t = ag.tensor([float(rank)])
    dist.all_reduce(t)                    # in place: every rank now holds 0 + 1 + ... + (world - 1)

What there is: ``init_process_group``, ``is_initialized``, ``is_available``, ``get_rank``,
``get_world_size``, ``all_reduce`` (``ReduceOp.SUM``, ``PRODUCT``, ``MAX``, ``MIN``, ``AVG``),
``broadcast``, ``all_gather``, ``all_gather_object``, ``barrier`` and ``destroy_process_group``. They work in place on
Tensors and on ndarrays, through mpi4py's buffer methods (``Allreduce`` with ``MPI.IN_PLACE``,
``Bcast``, ``Allgather``): arrays are never pickled. ``async_op=True`` starts the non-blocking
variant and returns a handle with ``wait()``.

Only the default group (every rank, ``group=None``) exists; the backend is MPI alone.
``mpi4py`` (which starts MPI when imported) is imported by ``init_process_group``, never by
``import autograd_core``, ``import nn`` or ``import autograd_core.distributed``.

Two things ``init_process_group`` arranges for a job of several ranks:

- An uncaught exception on one rank prints its traceback and then aborts every rank
  (``MPI_Abort``): without this the others would wait forever in their next collective.
  ``sys.exit()`` with an error on one rank is not an exception Python reports; run the
  script as ``python -m mpi4py script.py`` to cover that too.
- Threads: each rank's kernels get ``cores // ranks on this host`` threads (at least one),
  so processes x threads = cores, unless ``NUMBA_NUM_THREADS`` is set (then it wins).
"""

from __future__ import annotations

import enum
import os
import sys
import time

import numpy as np

from .tensor import Tensor

__all__ = ["ReduceOp", "is_available", "init_process_group", "is_initialized", "get_rank", "get_world_size",
           "all_reduce", "broadcast", "all_gather", "all_gather_object", "barrier", "destroy_process_group",
           "get_backend", "group", "Work"]

_INSTALL = ("autograd_core.distributed needs mpi4py and an MPI library: install the `distributed` extra, "
            "pip install -e \".[distributed]\" from the repository (or pip install mpi4py mpich)")


class ReduceOp(enum.Enum):
    """How ``all_reduce`` combines the ranks' values (element by element)."""

    SUM = "sum"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"
    AVG = "avg"   # SUM, then divided by the world size (floating-point tensors only)


class group:  # noqa: N801  (torch.distributed.group.WORLD)
    """``group.WORLD`` names the default group (every rank); it is the only one."""

    WORLD = "WORLD"


class _State:
    comm = None          # our own duplicate of MPI.COMM_WORLD, so user traffic never mixes with ours
    prev_excepthook = None


_state = _State()


def _mpi():
    """The ``mpi4py.MPI`` module, or an ImportError that says which extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"{_INSTALL} ({e})") from e
    return MPI


def is_available():
    """Whether mpi4py is installed (checked without importing it: importing it starts MPI)."""
    import importlib.util
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):
        return False


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name=""):
    """Join the job's ranks (every rank must call it).

    Parameters
    ----------
    backend : str
        ``"mpi"`` (the only backend). The ranks are the processes ``mpiexec`` started;
        a script started without ``mpiexec`` is a job of one rank.
    world_size, rank : int, optional
        If given, checked against what MPI says (they cannot be chosen here).
    init_method, timeout, store, group_name
        Accepted for PyTorch compatibility and ignored: MPI's launcher does the rendezvous.
    """
    if backend is None:
        backend = "mpi"
    if str(backend).lower() != "mpi":
        raise ValueError(f"init_process_group: backend {backend!r} is not available; the only backend is 'mpi' "
                         "(start the ranks with mpiexec)")
    if _state.comm is not None:
        raise RuntimeError("init_process_group: the default process group is already initialized "
                           "(call destroy_process_group() first to start a new one)")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()), ("rank", rank, world.Get_rank())):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"init_process_group: {name}={given}, but MPI started this process as {name} "
                             f"{actual}; the launcher decides them (mpiexec -n N), leave {name} unset")
    _state.comm = world.Dup()
    if _state.comm.Get_size() > 1:
        _set_threads_per_rank(world)
        if _state.prev_excepthook is None:
            _state.prev_excepthook = sys.excepthook
            sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(etype, value, tb):
    """Print the traceback, then abort every rank (the others may be waiting in a collective)."""
    prev = _state.prev_excepthook or sys.__excepthook__
    prev(etype, value, tb)
    comm = _state.comm
    if comm is None or comm.Get_size() == 1:
        return
    rank = comm.Get_rank()
    sys.stderr.write(f"autograd_core.distributed: rank {rank} raised {etype.__name__}; aborting all "
                     f"{comm.Get_size()} ranks (MPI_Abort)\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # pragma: no cover - a closed stream
            pass
    # The launcher forwards each rank's output through a pipe and tears the job down on
    # MPI_Abort: without a pause the last lines written (this message) were sometimes lost.
    time.sleep(0.3)
    _mpi().COMM_WORLD.Abort(1)


def _threads_per_rank(cores_visible, cores_total, ranks_here):
    """Kernel threads for one rank: the cores it may run on, shared among the ranks of its host.

    A launcher that pins each rank to its own cores (e.g. ``mpiexec -bind-to core``) leaves each
    rank fewer visible cores than the machine has: then they are all this rank's.
    """
    if cores_visible < cores_total:
        return max(1, cores_visible)
    return max(1, cores_visible // max(1, ranks_here))


def _set_threads_per_rank(world):
    if os.environ.get("NUMBA_NUM_THREADS"):
        return
    local = world.Split_type(_mpi().COMM_TYPE_SHARED)
    ranks_here = local.Get_size()
    local.Free()
    try:
        visible = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        visible = os.cpu_count() or 1
    n = _threads_per_rank(visible, os.cpu_count() or visible, ranks_here)
    from . import _threads
    if "numba" in sys.modules:
        _threads.set_num_threads(min(n, _numba_max_threads()))
    else:  # the pool is created at Numba's import: make it the right size
        os.environ["NUMBA_NUM_THREADS"] = str(n)
    # numpy's BLAS (used before the first kernel call) must not start a pool per rank either
    for path in _threads._loaded_openblas():
        _threads._set_blas_threads(path, n)


def _numba_max_threads():
    import numba
    return numba.config.NUMBA_NUM_THREADS


def is_initialized():
    """Whether ``init_process_group`` was called (and ``destroy_process_group`` not since)."""
    return _state.comm is not None


def _comm(what, group_=None):
    if group_ is not None and group_ != group.WORLD:
        raise NotImplementedError(f"{what}: only the default group (group=None) is supported, got {group_!r}")
    if _state.comm is None:
        raise RuntimeError(f"{what}: the default process group has not been initialized; call "
                           "autograd_core.distributed.init_process_group(backend='mpi') first")
    return _state.comm


def get_backend(group=None):
    _comm("get_backend", group)
    return "mpi"


def get_rank(group=None):
    """This process's rank, 0 .. world size - 1."""
    return _comm("get_rank", group).Get_rank()


def get_world_size(group=None):
    """The number of ranks."""
    return _comm("get_world_size", group).Get_size()


def barrier(group=None, async_op=False):
    """Wait until every rank has called ``barrier``."""
    comm = _comm("barrier", group)
    if async_op:
        return Work(comm.Ibarrier())
    comm.Barrier()
    return None


def destroy_process_group(group=None):
    """Leave the default group (MPI itself is finalized when the process exits)."""
    comm = _comm("destroy_process_group", group)
    _state.comm = None
    if _state.prev_excepthook is not None:
        if sys.excepthook is _abort_on_uncaught:
            sys.excepthook = _state.prev_excepthook
        _state.prev_excepthook = None
    comm.Free()


# --------------------------------------------------------------------------- collectives

class Work:
    """The handle ``async_op=True`` returns: ``wait()`` blocks until the operation is done."""

    def __init__(self, request, finish=None):
        self._req = request
        self._finish = finish
        self._done = False

    def is_completed(self):
        if not self._done and self._req.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            self._req.Wait()
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()
            self._finish = None


class _Buffer:
    """A contiguous array to hand MPI for ``x`` (a Tensor or an ndarray), and how to write it back."""

    def __init__(self, x, what, arg="tensor"):
        if isinstance(x, Tensor):
            self.tensor, arr = x, x.data
        elif isinstance(x, np.ndarray):
            self.tensor, arr = None, x
        else:
            raise TypeError(f"{what}: {arg} must be a Tensor or an ndarray, got {type(x).__name__}")
        if not arr.flags.writeable:
            raise ValueError(f"{what}: {arg} is read-only (shape {arr.shape}, dtype {arr.dtype}); the result is "
                             "written into it in place")
        self.array = arr
        # MPI needs one contiguous block; a strided view (e.g. channels-last) goes through a copy
        self.buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)

    def done(self):
        if self.buf is not self.array:
            np.copyto(self.array, self.buf)
        if self.tensor is not None:
            self.tensor._ver[0] += 1  # modified in place: backward must not use a saved copy of it


_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MAX: "MAX", ReduceOp.MIN: "MIN",
            ReduceOp.AVG: "SUM"}


def _reduce_op(op, what):
    if isinstance(op, str):
        try:
            op = ReduceOp[op.upper()]
        except KeyError:
            op = None
    if not isinstance(op, ReduceOp):
        raise ValueError(f"{what}: op must be a ReduceOp ({', '.join(o.name for o in ReduceOp)}), got {op!r}")
    return op


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` across ranks with ``op``; every rank receives the result in place.

    Parameters
    ----------
    tensor : Tensor or ndarray
        The same shape and dtype on every rank.
    op : ReduceOp
        ``SUM``, ``PRODUCT``, ``MAX``, ``MIN`` or ``AVG`` (the sum divided by the world size).
    async_op : bool
        Start the reduction and return a handle; the result is there after its ``wait()``.
    """
    comm = _comm("all_reduce", group)
    op = _reduce_op(op, "all_reduce")
    b = _Buffer(tensor, "all_reduce")
    if op is ReduceOp.AVG and b.array.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got dtype {b.array.dtype}; "
                        "use SUM and divide")
    MPI = _mpi()
    mpi_op = getattr(MPI, _MPI_OPS[op])
    n = comm.Get_size()

    def finish():
        if op is ReduceOp.AVG and n > 1:
            np.divide(b.buf, n, out=b.buf)
        b.done()

    if async_op:
        return Work(comm.Iallreduce(MPI.IN_PLACE, b.buf, op=mpi_op), finish)
    comm.Allreduce(MPI.IN_PLACE, b.buf, op=mpi_op)
    finish()
    return None


def broadcast(tensor, src, group=None, async_op=False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor`` (same shape and dtype everywhere)."""
    comm = _comm("broadcast", group)
    n = comm.Get_size()
    if not isinstance(src, (int, np.integer)) or not 0 <= src < n:
        raise ValueError(f"broadcast: src must be a rank in 0..{n - 1}, got {src!r}")
    b = _Buffer(tensor, "broadcast")
    if async_op:
        return Work(comm.Ibcast(b.buf, root=int(src)), b.done)
    comm.Bcast(b.buf, root=int(src))
    b.done()
    return None


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank.

    ``tensor_list`` holds world-size Tensors or ndarrays of ``tensor``'s shape and dtype,
    which are overwritten in place (as in PyTorch).
    """
    comm = _comm("all_gather", group)
    n = comm.Get_size()
    src = _Buffer(tensor, "all_gather")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != n:
        got = len(tensor_list) if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"all_gather: tensor_list must be a list of {n} tensors (one per rank), got {got}")
    outs = [_Buffer(t, "all_gather", f"tensor_list[{i}]") for i, t in enumerate(tensor_list)]
    for i, o in enumerate(outs):
        if o.array.shape != src.array.shape or o.array.dtype != src.array.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] has shape {o.array.shape} and dtype {o.array.dtype}; "
                             f"expected those of tensor, {src.array.shape} {src.array.dtype}")
    recv = np.empty((n,) + src.buf.shape, dtype=src.buf.dtype)

    def finish():
        for i, o in enumerate(outs):
            np.copyto(o.array, recv[i])
            if o.tensor is not None:
                o.tensor._ver[0] += 1

    if async_op:
        return Work(comm.Iallgather(src.buf, recv), finish)
    comm.Allgather(src.buf, recv)
    finish()
    return None


def all_gather_object(object_list, obj, group=None):
    """Every rank's ``obj`` (any picklable object) into ``object_list[rank]``, on every rank.

    For small metadata: the objects are pickled (arrays should go through ``all_gather``).
    """
    comm = _comm("all_gather_object", group)
    n = comm.Get_size()
    if not isinstance(object_list, list) or len(object_list) != n:
        got = len(object_list) if isinstance(object_list, list) else type(object_list).__name__
        raise ValueError(f"all_gather_object: object_list must be a list of {n} items (one per rank), got {got}")
    object_list[:] = comm.allgather(obj)
