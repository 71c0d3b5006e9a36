"""The backward engine: dependency-counted topological order, never recursion.

The graph is made of ``Function`` nodes; each node's ``_next`` lists, per
forward argument, where that argument's gradient goes: ``None``, another node
``(node, output_nr)``, or a leaf tensor ``(tensor, -1)``.

One run (``_execute``) is three steps:
1. ``_count_dependencies``: walk the graph from the roots with an explicit stack,
   counting for each node how many edges point at it;
2. ``_run_nodes``: start from the roots; a node runs once all its dependencies
   have delivered their gradient, so its backward sees the full sum
   (``_run_node``: each returned gradient is checked for count, shape and dtype,
   summed down to its input's broadcast shape, and added to the buffer of the
   node or leaf it goes to); unless ``retain_graph``, a node that ran drops its
   saved tensors;
3. ``_deliver_to_leaves``: leaf hooks run and leaves get ``.grad`` accumulated
   (or, for ``grad()``, the gradient is returned).
"""

from __future__ import annotations

import numpy as np

from .function import (Function, _state, _format_site, _first_nonfinite, _freed_error, _release,
                       ShapeError)
from .tensor import Tensor
from .ops.shape import SumTo, can_sum_to
from .ops.elementwise import Cast

_wrap = Tensor._wrap
_node_hook = None  # set by _hooks.py while the profiler runs; None otherwise (one global lookup per node)

__all__ = ["backward", "grad"]


class _OnceDifferentiableError(Function):
    """Stands where a once-differentiable op's gradient would need a second derivative."""

    op_name = "?"

    @staticmethod
    def backward(ctx, *g):
        raise RuntimeError(
            f"{ctx.op_name}: this op's backward works on raw arrays (it is once-differentiable), so "
            "its gradient cannot be differentiated again. Write its backward with Tensor operations "
            "to support higher-order gradients.")


def _root_edge(t):
    gf = t.grad_fn
    if gf is not None:
        return (gf, t._output_nr)
    if t.requires_grad:
        return (t, -1)
    return None


def _hook_name(h):
    return f"hook {getattr(h, '__qualname__', None) or type(h).__name__!r}"


def _as_grad_tensor(g, like, what, hook=None):
    if g is None:
        return None
    if hook is not None and not isinstance(g, (Tensor, np.ndarray)):
        raise TypeError(f"{what}: {_hook_name(hook)} returned a {type(g).__name__}; a hook must return None "
                        "(keep the gradient) or a Tensor of the gradient's shape (use it instead)")
    if not isinstance(g, Tensor):
        g = Tensor(np.asarray(g, dtype=like.dtype) if not isinstance(g, np.ndarray) else g)
    if tuple(g.shape) != tuple(like.shape):
        raise ShapeError(
            f"{what}: the gradient has shape {tuple(g.shape)} but the tensor it belongs to has shape "
            f"{tuple(like.shape)}; pass a gradient of the same shape")
    if g.dtype.kind not in "fc":
        raise TypeError(f"{what}: the gradient must be floating point, got dtype {g.dtype}")
    return g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad`` (see ``Tensor.backward``)."""
    if isinstance(tensors, Tensor):
        if inputs is None and not create_graph and tensors.grad_fn is not None:
            # fast path for the common `loss.backward()`
            g = grad_tensors
            if g is None or not (isinstance(g, Tensor) and g.data.shape == tensors.data.shape
                                 and g.data.dtype.kind == "f"):
                (g,) = _prepare((tensors,), (g,), "backward")[1]
            _execute(((tensors.grad_fn, tensors._output_nr),), (g,), bool(retain_graph), False, None)
            return
        tensors = (tensors,)
        grad_tensors = (grad_tensors,)
    elif grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    elif isinstance(grad_tensors, Tensor):
        grad_tensors = (grad_tensors,)
    if retain_graph is None:
        retain_graph = create_graph
    roots, grads = _prepare(tensors, grad_tensors, "backward")
    targets = None
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        targets = _targets(inputs, "backward")
    res = _execute(roots, grads, retain_graph, create_graph, targets)
    if inputs is not None:
        for t, g in zip(inputs, res):
            if g is not None:
                _accumulate_leaf(t, g, create_graph, copy=True)


def _prepare(tensors, grad_tensors, what):
    roots, grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: output {i} must be a Tensor, got {type(t).__name__}")
        e = _root_edge(t)
        if e is None:
            raise RuntimeError(
                f"{what}: output {i} (shape {tuple(t.shape)}) does not require grad and has no grad_fn: "
                "none of the tensors it was computed from had requires_grad=True (or it was computed "
                "under no_grad()). Set requires_grad=True on the inputs you want gradients for.")
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"{what}: a gradient can be created implicitly only for a scalar output, but output {i} "
                    f"has shape {tuple(t.shape)}. Pass gradient=<tensor of shape {tuple(t.shape)}> "
                    "(e.g. ones_like(y)), or reduce it to a scalar first (e.g. y.sum()).")
            g = _wrap(np.ones(t.shape, dtype=t.dtype))
        else:
            g = _as_grad_tensor(g, t, f"{what}: gradient for output {i}")
        roots.append(e)
        grads.append(g)
    return roots, grads


def _targets(inputs, what):
    keys = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: input {i} must be a Tensor, got {type(t).__name__}")
        e = _root_edge(t)
        if e is None:
            raise RuntimeError(
                f"{what}: input {i} (shape {tuple(t.shape)}) does not require grad; only tensors with "
                "requires_grad=True (or computed from one) can be differentiated against")
        keys.append((id(e[0]), e[1]))
    return keys


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Return d(outputs)/d(inputs) without touching any ``.grad``.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
    inputs : Tensor or sequence of Tensors
        Leaves or intermediate tensors of the graph.
    grad_outputs : sequence, optional
        The vector in the vector-Jacobian product, one per output (None for a scalar).
    retain_graph : bool, optional
        Defaults to ``create_graph``.
    create_graph : bool
        Record the computation so the result can be differentiated again.
    allow_unused : bool
        Return None for an input the outputs do not depend on, instead of raising.

    Returns
    -------
    tuple of Tensors (or None where unused and allowed)
    """
    single = isinstance(outputs, Tensor)
    outputs = (outputs,) if single else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    roots, grads = _prepare(outputs, grad_outputs, "grad")
    targets = _targets(inputs, "grad")
    res = _execute(roots, grads, retain_graph, create_graph, targets)
    for i, g in enumerate(res):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {tuple(inputs[i].shape)}) was not used to compute the outputs. "
                "Pass allow_unused=True to get None for it.")
    return tuple(res)


def _accumulate_leaf(t, g, create_graph, copy):
    if create_graph:
        t.grad = g if t.grad is None else t.grad + g
        return
    data = g.data
    if t.grad is None:
        flags = data.flags
        if copy or not flags.owndata or not flags.writeable:
            data = data.copy(order="K")  # keep the layout (e.g. channels-last): a plain memcpy
        t.grad = _wrap(data)
    else:
        old = t.grad
        if old.requires_grad or not old.data.flags.writeable or old.data.dtype != data.dtype:
            t.grad = _wrap(old.data + data)
        else:
            np.add(old.data, data, out=old.data)


def _needed(roots, targets):
    """Nodes from which some target can be reached: the only ones ``grad()`` must run."""
    target_ids = {k[0] for k in targets}
    needed = {}
    stack = [(e[0], False) for e in roots if e[1] >= 0]
    while stack:  # iterative post-order DFS
        node, done = stack.pop()
        if done:
            needed[node] = id(node) in target_ids or any(
                e is not None and (id(e[0]) in target_ids if e[1] < 0 else needed.get(e[0], False))
                for e in node._next)
            continue
        if node in needed:
            continue
        needed[node] = False  # placeholder while its children are visited
        stack.append((node, True))
        for e in node._next:
            if e is not None and e[1] >= 0 and e[0] not in needed:
                stack.append((e[0], False))
    return needed


def _must_run(node, needed, capture):
    """Whether a node's backward leads to any target (grad() skips the others)."""
    for e in node._next:
        if e is not None and ((id(e[0]), -1) in capture if e[1] < 0 else needed.get(e[0], False)):
            return True
    return False


def _execute(roots, root_grads, retain_graph, create_graph, targets):
    """Execute the backward pass; return captured gradients for ``targets`` (``grad()``), else None."""
    deps = _count_dependencies(roots)
    needed = capture = None
    if targets is not None:
        needed = _needed(roots, targets)
        capture = dict.fromkeys(targets)

    buf = {}      # node -> list of gradients, one per output
    leaves = {}   # id(leaf) -> [leaf, gradient, must_copy]
    # Arrays handed to a leaf or given by the caller: a leaf whose gradient is one
    # of these must copy it, or two .grad (or .grad and the caller's array) would alias.
    shared = set()
    for e, g in zip(roots, root_grads):
        shared.add(id(g.data))
        _deliver(e, g, buf, leaves, shared)

    prev_mode = _state.enabled
    _state.enabled = create_graph
    anomaly = _state.anomaly
    # In anomaly mode the engine checks each gradient a node returns and blames that
    # node; the ops its backward runs internally are not checked one by one.
    _state.anomaly = False
    try:
        _run_nodes(roots, deps, buf, leaves, shared, retain_graph, create_graph, anomaly, needed, capture)
        _deliver_to_leaves(leaves, create_graph, capture)
    finally:
        _state.enabled = prev_mode
        _state.anomaly = anomaly
    if capture is not None:
        return [capture[k] for k in targets]
    return None


def _count_dependencies(roots):
    """Step 1: for every node reachable from ``roots``, how many edges point at it."""
    deps = {}
    stack = []
    for e in roots:
        if e[1] >= 0 and e[0] not in deps:
            deps[e[0]] = 0
            stack.append(e[0])
    while stack:
        for e in stack.pop()._next:
            if e is not None and e[1] >= 0:
                m = e[0]
                if m in deps:
                    deps[m] += 1
                else:
                    deps[m] = 1
                    stack.append(m)
    return deps


def _run_nodes(roots, deps, buf, leaves, shared, retain_graph, create_graph, anomaly, needed, capture):
    """Step 2: run each node's backward once all its dependencies have delivered, in dependency order."""
    ready = []
    for e in roots:
        if e[1] >= 0 and deps[e[0]] == 0 and e[0] not in ready:
            ready.append(e[0])
    while ready:
        node = ready.pop()
        grads = buf.pop(node, None) or [None] * node._n_out
        if node._out_hooks:
            _run_hooks(node, grads)
        if capture is not None and not _capture(node, grads, needed, capture):
            continue  # grad(): leads to no target; neither it nor what it feeds runs
        # (no gradient reaches a node whose output was overwritten, e.g. by copy_)
        if grads[0] is not None or (node._n_out > 1 and any(g is not None for g in grads)):
            _run_node(node, grads, create_graph, anomaly, buf, leaves, shared)
        if not retain_graph:  # free early: nothing needs what this node kept for backward now
            _release(node)
        for e in node._next:
            if e is not None and e[1] >= 0:
                m = e[0]
                deps[m] -= 1
                if deps[m] == 0:
                    ready.append(m)


def _capture(node, grads, needed, capture):
    """For ``grad()``: keep the gradients of the node's outputs that are targets; return whether its
    backward leads to any target (the others are skipped)."""
    for k in range(node._n_out):
        if (id(node), k) in capture:
            capture[id(node), k] = grads[k]
    return _must_run(node, needed, capture)


def _deliver_to_leaves(leaves, create_graph, capture):
    """Step 3: run leaf hooks, then accumulate into ``.grad`` (or, for ``grad()``, capture)."""
    for tgt, g, copy in leaves.values():
        if tgt._hooks:
            for h in list(tgt._hooks):
                r = h(g)
                if r is not None:
                    g = _as_grad_tensor(r, g, "hook on a leaf tensor", h)
                    copy = True
        if capture is not None:
            if (id(tgt), -1) in capture:
                capture[id(tgt), -1] = g
            continue
        _accumulate_leaf(tgt, g, create_graph, copy)


def _deliver(e, g, buf, leaves, shared):
    tgt, nr = e
    if nr < 0:
        slot = leaves.get(id(tgt))
        if slot is None:
            key = id(g.data)
            leaves[id(tgt)] = [tgt, g, key in shared]
            shared.add(key)
        else:  # a sum is a fresh array
            slot[1] = slot[1] + g
            slot[2] = False
        return
    lst = buf.get(tgt)
    if lst is None:
        lst = buf[tgt] = [None] * tgt._n_out
    lst[nr] = g if lst[nr] is None else lst[nr] + g


def _run_hooks(node, grads):
    for k, hs in node._out_hooks.items():
        if grads[k] is not None:
            for h in list(hs):
                r = h(grads[k])
                if r is not None:
                    grads[k] = _as_grad_tensor(r, grads[k], f"hook on output {k} of {node.name()}", h)


def _run_node(node, grads, create_graph, anomaly, buf, leaves, shared):
    if _node_hook is not None and _node_hook(node, grads, create_graph, anomaly, buf, leaves, shared):
        return
    cls = type(node)
    if node._n_out > 1 and node._materialize:
        grads = [g if g is not None else _wrap(np.zeros(s, dtype=d))
                 for g, (s, d) in zip(grads, node._out_meta)]
    once = create_graph and getattr(cls.backward, "_once_differentiable", False)
    try:
        if once:
            _state.enabled = False
            try:
                res = cls.backward(node, *grads)
            finally:
                _state.enabled = True
        else:
            res = cls.backward(node, *grads)
    except AttributeError as e:
        if node._freed:  # a second backward: what forward set on ctx was released by the first
            raise _freed_error(node) from e
        raise
    if type(res) is not tuple:
        res = (res,)
    nxt = node._next
    n_in = len(nxt)
    if len(res) != n_in:
        # Missing trailing gradients are fine for arguments that need none (shapes, dims, ...);
        # extra ones must be None.
        if any(r is not None for r in res[n_in:]) or any(e is not None for e in nxt[len(res):]):
            raise RuntimeError(
                f"{node.name()}: backward returned {len(res)} gradient(s) but forward took {n_in} "
                "argument(s); return one gradient per forward argument (None for those without one)")
        res = res[:n_in] + (None,) * (n_in - len(res))
    meta = node._in_meta
    for i in range(n_in):
        e = nxt[i]
        if e is None:
            continue
        g = res[i]
        if g is None:
            continue
        if not isinstance(g, Tensor):
            g = _wrap(np.asarray(g))
            if create_graph:
                once = True
        shape, dtype = meta[i]
        data = g.data
        if data.shape != shape:
            if not can_sum_to(data.shape, shape):
                raise ShapeError(
                    f"{node.name()}: the gradient returned for input {i} has shape {data.shape}, but input {i} "
                    f"has shape {shape}. backward must return, per input, a gradient of that input's "
                    "shape (or of a shape it broadcasts to, which the engine sums down).")
            g = SumTo.apply(g, shape)
        if g.data.dtype != dtype:
            if g.data.dtype.kind not in "fc":
                raise TypeError(
                    f"{node.name()}: the gradient returned for input {i} has dtype {g.data.dtype}, but "
                    f"input {i} is {dtype}; gradients must be floating point")
            g = Cast.apply(g, dtype)
        if anomaly and not np.isfinite(g.data).all():
            idx, val = _first_nonfinite(g.data)
            site = _format_site(node._site) if node._site is not None else "  (created outside detect_anomaly)"
            raise RuntimeError(
                f"detect_anomaly: Function '{node.name()}' returned non-finite values in its gradient for "
                f"input {i} (first at index {idx}: {val}). The op was created at:\n{site}")
        if once and create_graph:
            # The gradient depends on the op's inputs through code we cannot record: hang it on a
            # node that points at those inputs and raises if a second backward reaches it.
            err = object.__new__(_OnceDifferentiableError)
            err.op_name = node.name()
            err._next = nxt
            err._in_meta = meta
            g = _wrap(g.data, requires_grad=True)
            g.grad_fn = err
        _deliver(e, g, buf, leaves, shared)
