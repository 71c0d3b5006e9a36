"""Activation checkpointing: trade compute for memory (``torch.utils.checkpoint``'s names).

``checkpoint(function, *args)`` runs ``function`` and keeps its outputs but not
what its ops saved for backward (their inputs, masks, indices...); when the
backward pass reaches the segment, it runs ``function`` again on the same
inputs, with the random state it had the first time (so dropout draws the
same masks), and hands the recomputed saved state to the original graph nodes.
Peak memory is then about the checkpointed segments' outputs plus one
segment's activations, for one extra forward pass.

How (the non-reentrant design): the forward pass builds the graph as usual,
so its edges (to the inputs, to parameters the function reads, to any tensor
it captured) are the ordinary ones, and ``autograd_core.grad``,
``backward(inputs=...)``, hooks and keyword arguments work. When ``function``
returns, every node its ops recorded drops what it saved; an identity node on
the outputs recomputes and restores it when backward reaches it. Batch-norm
running statistics are updated in the first pass only (``is_recomputing()``).

Not supported: a second derivative through a checkpointed segment
(``create_graph=True`` raises), and a function that runs different ops the
second time (raises).
"""

from __future__ import annotations

import threading

from .. import _hooks
from ..function import _KEEP, _state, enable_grad
from ..ops.checkpoint import CheckpointFunction
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential", "is_recomputing"]

_tls = threading.local()


def is_recomputing() -> bool:
    """True while ``checkpoint`` runs a segment again in the backward pass (in this thread).

    Code with side effects that must happen once per step (batch norm's running
    statistics) checks it.
    """
    return getattr(_tls, "depth", 0) > 0


class _Recomputing:
    def __enter__(self):
        _tls.depth = getattr(_tls, "depth", 0) + 1

    def __exit__(self, *exc):
        _tls.depth -= 1
        return False


# a node keeps its place in the graph (what the engine keeps after a backward, function._KEEP);
# everything else forward set on it is dropped, and given back by the recomputation


class _Dropped:
    """Stands for the saved tensors of a checkpointed node until the segment is recomputed."""

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def __iter__(self):
        raise RuntimeError(
            f"checkpoint: {self.op} was recorded inside a checkpointed function and its saved tensors were dropped, "
            "but backward reached it before the segment was recomputed: a tensor computed inside the function "
            "was used outside it without being one of its outputs. Return that tensor from the function.")

    def __repr__(self):
        return "<dropped by checkpoint>"


def _strip(node):
    d = node.__dict__
    if type(node) is CheckpointFunction:  # a nested checkpoint: drop its inputs, keep its own segment
        d["state"].drop_inputs()
        return
    for k in [k for k in d if k not in _KEEP]:
        del d[k]
    node._saved = _Dropped(node.name())


def _transplant(orig, new):
    if type(orig) is CheckpointFunction:
        orig.state.take_inputs(new.state)
        return
    d = orig.__dict__
    d.pop("_saved", None)
    for k, v in new.__dict__.items():
        if k not in _KEEP:
            d[k] = v


def _detached(x):
    return Tensor._wrap(x.data, x.requires_grad) if isinstance(x, Tensor) else x


class _Segment:
    """What a checkpointed call needs to run again: the function, its inputs' values, the random state."""

    def __init__(self, function, args, kwargs, rng_state):
        self.function = function
        self.rng_state = rng_state
        self.nodes = None
        self._keep_inputs(args, kwargs)

    def _keep_inputs(self, args, kwargs):
        self.args = tuple(_detached(a) for a in args)
        self.kwargs = {k: _detached(v) for k, v in kwargs.items()}
        # version counters: an input modified in place before backward would recompute something else
        self.versions = [(i, a._ver, a._ver[0]) for i, a in enumerate(list(args) + list(kwargs.values()))
                         if isinstance(a, Tensor)]

    def drop_inputs(self):
        self.args = self.kwargs = None

    def take_inputs(self, other):
        self.args, self.kwargs, self.versions = other.args, other.kwargs, other.versions

    def recompute(self):
        if self.nodes is None:
            return
        if _state.enabled:
            raise RuntimeError(
                "checkpoint: a second derivative (create_graph=True) through a checkpointed segment is not "
                "supported: the recomputed graph does not lead back to the segment's inputs. Call the function "
                "without checkpoint() where you need higher-order gradients.")
        for i, counter, ver in self.versions:
            if counter[0] != ver:
                raise RuntimeError(
                    f"checkpoint: input {i} of the checkpointed function was modified in place after the forward "
                    f"pass (version {counter[0]}, expected {ver}), so the segment cannot be recomputed; clone it "
                    "before modifying it.")
        rng_now = get_rng_state() if self.rng_state is not None else None
        if self.rng_state is not None:
            set_rng_state(self.rng_state)
        try:
            with enable_grad(), _Recomputing(), _hooks.OpCollector() as col:
                self.function(*self.args, **self.kwargs)
        finally:
            if rng_now is not None:
                set_rng_state(rng_now)
        new = col.nodes
        if len(new) != len(self.nodes) or any(type(a) is not type(b) for a, b in zip(self.nodes, new)):
            ours = [n.name() for n in self.nodes]
            theirs = [n.name() for n in new]
            raise RuntimeError(
                "checkpoint: the recomputation ran different ops than the forward pass "
                f"({len(ours)} ops first: {ours[:6]}..., {len(theirs)} now: {theirs[:6]}...). The checkpointed "
                "function must run the same ops every time (no data-dependent branches, the same train/eval mode).")
        for orig, n in zip(self.nodes, new):
            _transplant(orig, n)
        self.nodes = None  # the original nodes hold what backward needs now
        self.args = self.kwargs = None


def checkpoint(function, *args, use_reentrant=False, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations; recompute them in backward.

    Parameters
    ----------
    function : callable
        Returns a Tensor or a tuple (Tensors among other values). It must run
        the same ops when called again (the same train/eval mode).
    *args, **kwargs
        Passed to ``function``; tensor arguments are kept (their values, not
        their graphs) for the recomputation.
    use_reentrant : bool
        Accepted for PyTorch's signature; both values use the non-reentrant
        design described in the module docstring (``grad()`` works with either).
    preserve_rng_state : bool
        Recompute with the random state of the first call (dropout masks match).

    Returns
    -------
    What ``function`` returns.
    """
    if not isinstance(use_reentrant, bool):
        raise TypeError(f"checkpoint: use_reentrant must be True or False, got {use_reentrant!r}")
    if not _state.enabled:  # nothing will be differentiated: nothing to save or to drop
        return function(*args, **kwargs)
    rng_state = get_rng_state() if preserve_rng_state else None
    with _hooks.OpCollector() as col:
        out = function(*args, **kwargs)
    single = isinstance(out, Tensor)
    outs = (out,) if single else out
    if not isinstance(outs, tuple):
        raise TypeError(f"checkpoint: the function must return a Tensor or a tuple, got {type(out).__name__}")
    diff = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not col.nodes or not diff:
        return out
    seg = _Segment(function, args, kwargs, rng_state)
    seg.nodes = col.nodes
    for node in col.nodes:
        _strip(node)
    res = CheckpointFunction.apply(seg, *[outs[i] for i in diff])
    res = (res,) if isinstance(res, Tensor) else res
    new = list(outs)
    for i, r in zip(diff, res):
        new[i] = r
    return new[0] if single else tuple(new)


def checkpoint_sequential(functions, segments, input, use_reentrant=False, preserve_rng_state=True):
    """Run ``functions`` (an ``nn.Sequential`` or a list of callables) in ``segments`` checkpointed chunks.

    As in PyTorch, the layers are cut into ``segments`` chunks of
    ``len(functions) // segments`` layers; every chunk but the last is
    checkpointed (the last one's activations are needed right away by backward).
    """
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)
    if not isinstance(segments, int) or not 1 <= segments <= max(1, len(functions)):
        raise ValueError(f"checkpoint_sequential: segments must be an int in [1, {len(functions)}] "
                         f"(the number of functions), got {segments!r}")

    def run(start, end):
        def forward(x):
            for f in functions[start:end]:
                x = f(x)
            return x
        return forward

    size = len(functions) // segments
    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return run(end, len(functions))(input)
