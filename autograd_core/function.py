"""The ``Function`` base class, the context object, and grad mode.

A ``Function`` subclass declares one differentiable operation: a static
``forward(ctx, *inputs)`` that works on ndarrays and a static
``backward(ctx, *grad_outputs)`` that works on Tensors (so that the backward pass
can itself be recorded when ``create_graph=True``). ``Op.apply(*args)`` runs the
forward pass and, when grad mode is on and some input requires grad, records
the call as a node of the graph: the ``ctx`` instance *is* the node, exactly as
in PyTorch's Python API.
"""

from __future__ import annotations

import threading
import traceback

import numpy as np

__all__ = [
    "Function", "once_differentiable", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
    "ShapeError", "inference_mode", "is_inference_mode_enabled",
]


class ShapeError(RuntimeError, ValueError):
    """An operation got inputs whose shapes do not fit.

    It is both a ``RuntimeError`` (what PyTorch raises) and a ``ValueError``
    (what numpy raises), so either habit catches it.
    """


# --------------------------------------------------------------------------- grad mode

class _GradState(threading.local):
    # Class attributes are the per-thread defaults (like PyTorch, grad mode is
    # thread-local).
    enabled = True
    anomaly = False
    inference = False


_state = _GradState()


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for backward in this thread."""
    return _state.enabled


def _with_grad_mode(fn, mode):
    """``fn`` wrapped to run with grad mode ``mode`` (the decorator form of the context managers)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        prev = _state.enabled
        _state.enabled = mode
        try:
            return fn(*args, **kwargs)
        finally:
            _state.enabled = prev

    return wrapper


class set_grad_enabled:
    """Set grad mode on or off; usable as a function, a context manager or a decorator."""

    def __init__(self, mode: bool):
        self.prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        _state.enabled = self.prev  # used as a decorator: undo the call-time switch
        return _with_grad_mode(fn, self.mode)


class _GradModeContext:
    _mode = True

    def __new__(cls, fn=None):
        if fn is not None:  # used as a bare decorator: @no_grad
            if not callable(fn):
                raise TypeError(f"{cls.__name__}() takes no arguments, got {fn!r}")
            return cls()(fn)
        return super().__new__(cls)

    def __enter__(self):
        self.prev = _state.enabled
        _state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        return _with_grad_mode(fn, self._mode)


class no_grad(_GradModeContext):
    """Context manager / decorator that turns off recording of operations.

    Examples
    --------
    >>> with no_grad():
    ...     y = x * 2          # y.requires_grad is False
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager / decorator that turns recording back on inside ``no_grad``."""

    _mode = True


class inference_mode:
    """Context manager / decorator for inference (``torch.inference_mode``): records nothing.

    Here it is ``no_grad`` plus a flag (``is_inference_mode_enabled()``); PyTorch's further
    bookkeeping savings do not apply to this engine. ``inference_mode(False)`` turns recording
    back on, as in PyTorch. Use it as ``with inference_mode():``, ``@inference_mode()`` or
    ``@inference_mode``.
    """

    def __new__(cls, mode=True):
        if callable(mode):  # bare decorator: @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = (_state.enabled, _state.inference)
        _state.enabled = not self.mode
        _state.inference = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled, _state.inference = self.prev
        return False

    def __call__(self, fn):
        import functools

        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    return _state.inference


# --------------------------------------------------------------------------- anomaly mode

def is_anomaly_enabled() -> bool:
    return _state.anomaly


class set_detect_anomaly:
    """Turn anomaly detection on or off (function or context manager)."""

    def __init__(self, mode: bool):
        self.prev = _state.anomaly
        _state.anomaly = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.anomaly = self.prev
        return False


class detect_anomaly:
    """Context manager (or decorator) that checks every op for NaN and inf.

    Inside it each recorded op remembers where it was created; the first op
    whose forward output or whose backward gradient holds NaN or inf raises a
    ``RuntimeError`` naming the op and the line of user code that created it.
    It slows everything down: use it to find a bug, not to train.
    """

    def __enter__(self):
        self.prev = _state.anomaly
        _state.anomaly = True
        return self

    def __exit__(self, *exc):
        _state.anomaly = self.prev
        return False

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__wrapped__ = fn
        return wrapper


def _user_frames():
    """The stack without this package's own frames: where the user created the op."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    frames = [f for f in traceback.extract_stack()[:-2] if not os.path.abspath(f.filename).startswith(here)]
    return frames


def _format_site(frames) -> str:
    if not frames:
        return "  (no user frame found)"
    return "".join(traceback.format_list(frames[-3:])).rstrip()


def _first_nonfinite(arr: np.ndarray):
    bad = ~np.isfinite(arr)
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
    return idx, arr[idx]


# --------------------------------------------------------------------------- Function

def once_differentiable(backward):
    """Decorator for a ``backward`` that works on raw arrays.

    Such a backward cannot be recorded, so the op supports first derivatives
    only; asking for a second derivative through it (``create_graph=True`` and
    then backward again) raises an error that names the op.
    """
    backward._once_differentiable = True
    return backward


_new = object.__new__
_ndarray = np.ndarray
_asarray = np.asarray

# Set by autograd_core/_hooks.py while something observes every op (the profiler, checkpoint,
# viz.record_modules); None otherwise, so an op pays one global lookup.
_apply_hook = None


class Function:
    """Base class of every differentiable operation (built-in or user-defined).

    Subclasses define two static methods:

    ``forward(ctx, *args, **kwargs) -> ndarray | tuple[ndarray, ...]``
        Receives the *arrays* of Tensor arguments (other arguments unchanged) and
        returns the output array(s). It may call ``ctx.save_for_backward(...)``
        with arrays it received or returned, and set attributes on ``ctx``.

    ``backward(ctx, *grad_outputs) -> Tensor | tuple``
        Receives one gradient Tensor per output and returns one gradient per
        positional argument of ``forward`` (``None`` where there is none). Write it
        with Tensor operations so higher-order gradients work; the engine sums a
        gradient down to its input's broadcast shape and checks shape and dtype.

    Call ``MyOp.apply(*args)``; never instantiate a Function yourself.
    """

    # Per-node attributes set by apply() (the ctx *is* the graph node):
    #   needs_input_grad  tuple[bool] per positional argument
    #   _next             tuple of edges per positional argument: None, (node, output_nr)
    #                     or (leaf_tensor, -1)
    #   _in_meta          tuple of (shape, dtype) per positional argument (None if no grad)
    #   _n_out            number of outputs
    #   _saved            list of saved items, None once freed
    # After its backward has run (without retain_graph) a node keeps only the graph's
    # structure (_KEEP): what forward saved, and every attribute forward set on ctx
    # (masks, indices, ...), is dropped at once (``_release``).
    _freed = False
    _saved = None
    _rec = False
    _out_hooks = None
    _site = None
    _n_out = 1
    _materialize = True
    _nondiff = None
    needs_input_grad = ()

    # ---------------------------------------------------------------- ctx API
    def save_for_backward(self, *items):
        """Keep arrays (or Tensors) needed by backward.

        Pass the arrays ``forward`` received or returned; ``backward`` gets them
        back from ``ctx.saved_tensors`` as the corresponding Tensors, so gradients
        can flow through them when the backward pass is itself differentiated.
        """
        if self._rec:
            self._to_save = items

    @property
    def saved_tensors(self):
        saved = self._saved
        if saved is None:
            if self._freed:
                raise _freed_error(self)
            return ()
        out = []
        for i, item in enumerate(saved):
            if type(item) is _SavedOutput:  # one of this node's own outputs
                t, counter, ver = item.tensor(self), item.counter, item.version
            elif type(item) is tuple:  # (tensor, version counter, expected version)
                t, counter, ver = item
            else:
                out.append(item)
                continue
            if counter[0] != ver:
                raise RuntimeError(
                    f"{self.name()}: saved tensor {i} (shape {tuple(t.shape)}, dtype {t.dtype}) was "
                    f"modified by an in-place operation after it was saved: it is at version "
                    f"{counter[0]}, expected version {ver}. Use an out-of-place operation "
                    "(e.g. x = x + 1 instead of x += 1) or .clone() the tensor before modifying it."
                )
            out.append(t)
        return tuple(out)

    def mark_non_differentiable(self, *arrays):
        """Declare outputs (the arrays ``forward`` returns) that have no gradient."""
        self._nondiff = arrays

    def set_materialize_grads(self, value: bool):
        """If False, backward receives ``None`` (not zeros) for outputs with no gradient."""
        self._materialize = bool(value)

    # ---------------------------------------------------------------- node API
    @classmethod
    def name(cls) -> str:
        return cls.__name__ + "Backward"

    @property
    def next_functions(self):
        """The nodes this node sends gradients to, as ``(node, output_nr)`` pairs."""
        res = []
        for e in self._next:
            if e is None:
                res.append((None, 0))
            elif e[1] < 0:
                res.append((_AccumulateGrad(e[0]), 0))
            else:
                res.append(e)
        return tuple(res)

    def register_hook(self, hook):  # pragma: no cover - PyTorch name; rarely used
        raise NotImplementedError("register hooks on tensors with Tensor.register_hook")

    def __repr__(self):
        return f"<{self.name()}>"

    # ---------------------------------------------------------------- subclass API
    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError("a Function subclass must define a static backward(ctx, ...)")

    # ---------------------------------------------------------------- apply
    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` on the arrays of the arguments and record the node if needed."""
        if _apply_hook is not None:
            out = _apply_hook(cls, args, kwargs)
            if out is not NotImplemented:
                return out
        ctx = _new(cls)
        rec = False
        if _state.enabled:
            datas = []
            for a in args:
                if isinstance(a, Tensor):
                    datas.append(a.data)
                    if a.requires_grad:
                        rec = True
                else:
                    datas.append(a)
        else:
            datas = [a.data if isinstance(a, Tensor) else a for a in args]
        if rec:
            # the node's edges: where each argument's gradient goes (computed before
            # forward, in one pass)
            needs, nxt, meta = [], [], []
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    gf = a.grad_fn
                    d = a.data
                    needs.append(True)
                    nxt.append((gf, a._output_nr) if gf is not None else (a, -1))
                    meta.append((d.shape, d.dtype))
                else:
                    needs.append(False)
                    nxt.append(None)
                    meta.append(None)
            ctx._rec = True
            ctx.needs_input_grad = tuple(needs)
            ctx._next = tuple(nxt)
            ctx._in_meta = tuple(meta)
        try:
            out = cls.forward(ctx, *datas, **kwargs)
        except ShapeError:
            raise
        except ValueError as e:
            shapes = ", ".join(str(tuple(np.shape(d))) for d in datas if isinstance(d, (_ndarray, Tensor)))
            hint = ""
            if "broadcast" in str(e):
                hint = (" Shapes broadcast when, from the last dimension backwards, each pair of sizes "
                        "is equal or one of them is 1: reshape or unsqueeze an operand to line them up.")
            raise ShapeError(f"{cls.__name__.lower()}: {e} (input shapes: {shapes}).{hint}") from e

        anomaly = _state.anomaly
        if type(out) is tuple:
            return _wrap_multi(cls, ctx, args, out, rec, anomaly)
        raw = out
        if type(out) is not _ndarray:  # numpy returns scalars for 0-d results
            out = _asarray(out)
        if anomaly and out.dtype.kind == "f" and not np.isfinite(out).all():
            _forward_anomaly(cls, out, 0)
        if rec and out.dtype.kind in "fc":
            t = _init_tensor(_new(Tensor), out, True, ctx)
            _record(ctx, args, (raw,), (t,), anomaly)
            return t
        return _init_tensor(_new(Tensor), out)


def _record(ctx, args, outs, tensors, anomaly):
    """Resolve what forward saved, after a recorded forward (edges were set by apply).

    ``outs`` are the objects forward returned (before conversion to ndarrays),
    so saved outputs are recognised by identity even when numpy returned scalars.
    """
    to_save = ctx.__dict__.pop("_to_save", None)
    if to_save is not None:
        ctx._saved = [_saved_item(item, args, outs, tensors) for item in to_save]
    if anomaly:
        ctx._site = _user_frames()


class _SavedOutput:
    """A node's own output, saved for its backward: the array and version counter, not the Tensor.

    The output Tensor points at the node (``grad_fn``); keeping it in the node
    would make a reference cycle, and a graph dropped without backward would
    wait for the garbage collector. ``tensor(node)`` rebuilds, while backward
    runs, a Tensor sharing the output's data, version counter and node, so a
    recorded backward (``create_graph``) still differentiates through it.
    """

    __slots__ = ("data", "output_nr", "requires_grad", "counter", "version")

    def __init__(self, src, k):
        self.data = src.data
        self.output_nr = k
        self.requires_grad = src.requires_grad
        self.counter = src._ver
        self.version = src._ver[0]

    def tensor(self, node):
        t = _init_tensor(_new(Tensor), self.data, self.requires_grad, node if self.requires_grad else None,
                         self.output_nr)
        t._ver = self.counter
        return t


def _saved_item(item, args, outs, tensors):
    """What the node keeps for one ``save_for_backward`` argument."""
    if item is None or not isinstance(item, (_ndarray, Tensor, np.generic)):
        return item
    if isinstance(item, Tensor):
        return (item, item._ver, item._ver[0])
    for k, o in enumerate(outs):
        if o is item:
            return _SavedOutput(tensors[k], k)
    for a in args:
        if isinstance(a, Tensor) and a.data is item:
            return (a, a._ver, a._ver[0])
    return Tensor._wrap(np.asarray(item))  # an intermediate of forward: a constant for backward


def _wrap_multi(cls, ctx, args, raw_outs, rec, anomaly):
    outs = tuple(o if type(o) is _ndarray else _asarray(o) for o in raw_outs)
    nondiff = ctx._nondiff or ()
    tensors = []
    any_diff = False
    for k, o in enumerate(outs):
        if anomaly and o.dtype.kind == "f" and not np.isfinite(o).all():
            _forward_anomaly(cls, o, k)
        diff = rec and o.dtype.kind in "fc" and not any(o is n for n in nondiff)
        t = _init_tensor(_new(Tensor), o, True, ctx, k) if diff else _init_tensor(_new(Tensor), o)
        any_diff = any_diff or diff
        tensors.append(t)
    if any_diff:
        ctx._n_out = len(outs)
        ctx._out_meta = tuple((o.shape, o.dtype) for o in outs)
        _record(ctx, args, raw_outs, tensors, anomaly)
    return tuple(tensors)


# What a node keeps once its backward has run: the graph's structure, hooks, and
# where it was created (anomaly mode). Everything else goes (``_release``).
_KEEP = frozenset({"needs_input_grad", "_next", "_in_meta", "_n_out", "_out_meta", "_out_hooks", "_site",
                   "_materialize"})


def _release(node):
    """Drop everything ``node`` holds for its backward (saved tensors and ctx attributes), keeping ``_KEEP``."""
    d = node.__dict__
    d.pop("_saved", None)
    d.pop("_rec", None)
    if len(d) > 3:  # more than needs_input_grad, _next and _in_meta: look at each (0.3 us saved per plain node)
        for k in [k for k in d if k not in _KEEP]:
            del d[k]
    node._freed = True


def _freed_error(node):
    """The error of a second backward through ``node`` after ``_release`` (raised by ``saved_tensors``,
    or by the engine when the node's backward asks for a ctx attribute that is gone)."""
    return RuntimeError(
        f"{node.name()}: trying to backward through the graph a second time (its saved tensors and "
        "the values forward kept for backward were freed after the first backward). Pass "
        "retain_graph=True to the first backward() or grad() call if you need to go through the graph "
        "again.")


def _forward_anomaly(cls, out, k):
    idx, val = _first_nonfinite(out)
    raise RuntimeError(
        f"detect_anomaly: Function '{cls.__name__}' returned non-finite values in its forward "
        f"output {k} (first at index {idx}: {val}). The op was called at:\n{_format_site(_user_frames())}"
    )


class _AccumulateGrad:
    """A stand-in node for a leaf tensor, shown in ``next_functions``."""

    def __init__(self, variable):
        self.variable = variable

    @staticmethod
    def name():
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return "<AccumulateGrad>"


from .tensor import Tensor, _init as _init_tensor  # noqa: E402  (circular: Tensor uses Function)
