"""Functional transforms: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

The names, signatures and return conventions are ``torch.autograd.functional``'s:
``inputs`` is a Tensor or a tuple of Tensors, ``func`` returns a Tensor or a
tuple of Tensors, and a result is a tuple exactly where the corresponding
argument or output was one. ``vjp``, ``jvp``, ``vhp`` and ``hvp`` return
``(func(*inputs), result)``. Results are detached from the graph unless
``create_graph=True``, which records them so they can be differentiated again.
``strict=True`` raises where an output does not depend on an input (instead of
returning zeros there).

>>> import numpy as np, autograd_core as ag
>>> from autograd_core.functional import hessian
>>> x = ag.tensor(np.array([1.0, 2.0]))
>>> hessian(lambda x: (x ** 3).sum(), x)     # diag(6 x)
tensor([[ 6.,  0.],
        [ 0., 12.]], dtype=float64)

Everything here is built on reverse mode (``autograd_core.grad``): ``jvp``
uses the double-vjp trick (``g(u) = J^T u`` is linear in ``u``, so the vjp of
``g`` with ``v`` is ``J v``), and ``hessian``, ``vhp``, ``hvp`` and ``jvp``
differentiate a backward pass, so they need every op on the way to be twice
differentiable. Every built-in op is (conv, pooling, batch norm and the losses
included) except ``SyncBatchNorm`` (distributed batch norm); an op whose
backward is marked ``once_differentiable`` raises an error naming it.
"""

from __future__ import annotations

import numpy as np

from .autograd import grad as _grad
from .function import enable_grad
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


# --------------------------------------------------------------------------- helpers

def _as_tuple(x, arg_name, fn_name):
    """``(is_tuple, tuple of Tensors)``, checking that every element is a Tensor."""
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            where = f"element {i} of {arg_name}" if is_tuple else arg_name
            raise TypeError(f"{fn_name}: {where} must be a Tensor (a tuple of Tensors is accepted too), "
                            f"got {type(t).__name__}")
    return is_tuple, xs


def _tuple_postprocess(res, to_unpack):
    """Undo ``_as_tuple``: ``to_unpack`` is ``is_tuple`` (one level) or a pair of them (a nested result)."""
    if isinstance(to_unpack, tuple):
        outer, inner = to_unpack
        if not inner:
            res = tuple(r[0] for r in res)
        if not outer:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """Inputs that ``func`` is applied to: fresh leaves, or (``create_graph``) linked to the originals."""
    res = []
    for t in inputs:
        if create_graph and t.requires_grad:
            res.append(t.view_as(t))  # differentiable identity: results stay connected to the caller's graph
        else:
            d = Tensor._wrap(t.data)
            d.requires_grad = need_graph and t.dtype.kind in "fc"
            res.append(d)
    return tuple(res)


def _grad_postprocess(xs, create_graph):
    if create_graph:
        return xs
    return tuple(None if x is None else (x.detach() if isinstance(x, Tensor) else x) for x in xs)


def _check_outputs(out, fn_name):
    is_tuple, outs = _as_tuple(out, "the function's output", fn_name)
    return is_tuple, outs


def _validate_v(v, other, is_other_tuple, fn_name, what):
    if len(other) != len(v):
        if is_other_tuple:
            raise ValueError(f"{fn_name}: v is a tuple of length {len(v)}, but the {what} has {len(other)} elements")
        raise ValueError(f"{fn_name}: the {what} is a single Tensor, so v must be a single Tensor, got a tuple "
                         f"of length {len(v)}")
    for i, (a, b) in enumerate(zip(v, other)):
        if tuple(a.shape) != tuple(b.shape):
            pre = f"entry {i} in " if is_other_tuple else ""
            raise ValueError(f"{fn_name}: {pre}v has shape {tuple(a.shape)}, but the {what}'s shape is "
                             f"{tuple(b.shape)}; they must match")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``grad`` over the outputs that require grad; None for inputs they do not reach."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    targets = [i for i, t in enumerate(inputs) if t.requires_grad]
    res = [None] * len(inputs)
    if not targets:
        return tuple(res)
    got = _grad([p[0] for p in pairs], [inputs[i] for i in targets], [p[1] for p in pairs],
                retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
    for i, g in zip(targets, got):
        res[i] = g
    return tuple(res)


def _fill_in_zeros(grads, refs, strict, create_graph, stage, fn_name):
    res = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                msgs = {
                    "back": f"the output of the function is independent of input {i}",
                    "back_trick": f"the gradient with respect to input {i} is independent of the inputs",
                    "double_back": f"the gradient with respect to input {i} is independent of the inputs",
                    "double_back_trick": f"the second derivative with respect to input {i} is independent of v",
                }
                raise RuntimeError(f"{fn_name}: {msgs[stage]}; strict=True does not allow that (pass "
                                   "strict=False to get zeros there)")
            g = Tensor._wrap(np.zeros(r.shape, dtype=r.dtype))
        res.append(g)
    return tuple(res)


def _ones_for_scalars(outputs, fn_name):
    for i, o in enumerate(outputs):
        if o.data.size != 1:
            raise RuntimeError(
                f"{fn_name}: v can be omitted only when the function returns single-element Tensors, but output "
                f"{i} has shape {tuple(o.shape)}; pass v of that shape")
    return tuple(Tensor._wrap(np.ones(o.shape, dtype=o.dtype)) for o in outputs)


# --------------------------------------------------------------------------- vjp / jvp

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T J)``: the vector-Jacobian product at ``inputs``.

    ``v`` has the shape(s) of ``func``'s output(s); it may be omitted when the
    output is a single-element Tensor. The product has the shape(s) of ``inputs``.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _check_outputs(outputs, "vjp")
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            _validate_v(v, outputs, is_outputs_tuple, "vjp", "function's output")
        else:
            v = _ones_for_scalars(outputs, "vjp")
        grads = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(grads, inputs, strict, create_graph, "back", "vjp")
    outputs = _grad_postprocess(outputs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(res, is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), J v)``: the Jacobian-vector product at ``inputs``, by the double-vjp trick.

    ``v`` has the shape(s) of ``inputs``; it may be omitted when the input is a
    single-element Tensor. The product has the shape(s) of ``func``'s output(s).
    Reverse mode twice: ``g(u) = J^T u`` with ``u`` a dummy of the outputs'
    shapes, recorded, then the vjp of ``g`` with ``v`` (twice the cost of a vjp).
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            _validate_v(v, inputs, is_inputs_tuple, "jvp", "input")
        else:
            v = _ones_for_scalars(inputs, "jvp")
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _check_outputs(outputs, "jvp")
        # u: dummy cotangents; g(u) = J^T u is linear in u
        u = tuple(Tensor._wrap(np.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in outputs)
        g = _autograd_grad(outputs, inputs, u, create_graph=True)
        g = _fill_in_zeros(g, inputs, strict, create_graph, "back_trick", "jvp")
        jv = _autograd_grad(g, u, v, create_graph=create_graph)
        res = _fill_in_zeros(jv, outputs, strict, create_graph, "double_back_trick", "jvp")
    outputs = _grad_postprocess(outputs, create_graph)
    res = _grad_postprocess(res, create_graph)
    return _tuple_postprocess(outputs, is_outputs_tuple), _tuple_postprocess(res, is_outputs_tuple)


# --------------------------------------------------------------------------- jacobian / hessian

def _basis(shape, dtype, k):
    e = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=dtype)
    e[k] = 1
    return Tensor._wrap(e.reshape(shape))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    For one input and one output, a Tensor of shape ``output.shape + input.shape``
    (``J[i..., j...] = d out[i...] / d in[j...]``). With a tuple of inputs, a
    tuple with one such Tensor per input; with a tuple of outputs, a tuple per
    output; with both, ``J[i][j]`` for output ``i`` and input ``j``.

    ``strategy='reverse-mode'`` computes one row per output element (one vjp
    each, on a graph recorded once); ``'forward-mode'`` one column per input
    element, with the double-vjp trick on one recorded backward pass: better
    when the inputs have fewer elements than the outputs. ``vectorize`` is
    accepted for PyTorch's signature: without ``vmap`` here, both values run
    the same loop.
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _check_outputs(outputs, "jacobian")
        if strategy == "forward-mode":
            jac = _jacobian_forward(outputs, inputs, create_graph, strict)
        else:
            jac = _jacobian_reverse(outputs, inputs, create_graph, strict)
    return _tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def _stack_rows(rows, out_shape, in_shape, dtype):
    """Rows (one per output element, each of the input's shape) as a Tensor ``out_shape + in_shape``."""
    from .ops.shape import stack
    if not rows:
        return Tensor._wrap(np.zeros(tuple(out_shape) + tuple(in_shape), dtype=dtype))
    return stack(rows, 0).reshape(tuple(out_shape) + tuple(in_shape))


def _jacobian_reverse(outputs, inputs, create_graph, strict):
    jac = []
    for i, out in enumerate(outputs):
        rows = [[] for _ in inputs]
        n = out.data.size
        for k in range(n):
            e = _basis(out.shape, out.dtype, k)
            g = _autograd_grad((out,), inputs, (e,), create_graph=create_graph, retain_graph=True)
            for j, (gj, inp) in enumerate(zip(g, inputs)):
                if gj is None:
                    if strict:
                        raise RuntimeError(
                            f"jacobian: output {i} of the function is independent of input {j}; strict=True does "
                            "not allow that (pass strict=False to get zeros there)")
                    gj = Tensor._wrap(np.zeros(inp.shape, dtype=inp.dtype))
                rows[j].append(gj)
        jac.append(tuple(_grad_postprocess((_stack_rows(r, out.shape, inp.shape, inp.dtype),), create_graph)[0]
                         for r, inp in zip(rows, inputs)))
    return tuple(jac)


def _jacobian_forward(outputs, inputs, create_graph, strict):
    from .ops.shape import stack
    u = tuple(Tensor._wrap(np.zeros(o.shape, dtype=o.dtype), requires_grad=True) for o in outputs)
    g = _autograd_grad(outputs, inputs, u, create_graph=True, retain_graph=True)
    cols = [[[] for _ in inputs] for _ in outputs]   # cols[i][j]: columns of d out_i / d in_j
    for j, (gj, inp) in enumerate(zip(g, inputs)):
        for k in range(inp.data.size):
            e = _basis(inp.shape, inp.dtype, k)
            if gj is None:
                jv = (None,) * len(outputs)
            else:
                jv = _autograd_grad((gj,), u, (e,), create_graph=create_graph, retain_graph=True)
            for i, (c, out) in enumerate(zip(jv, outputs)):
                if c is None:
                    if strict:
                        raise RuntimeError(
                            f"jacobian: output {i} of the function is independent of input {j}; strict=True does "
                            "not allow that (pass strict=False to get zeros there)")
                    c = Tensor._wrap(np.zeros(out.shape, dtype=out.dtype))
                cols[i][j].append(c)
    jac = []
    for i, out in enumerate(outputs):
        row = []
        for j, inp in enumerate(inputs):
            c = cols[i][j]
            if c:   # (in..., out...) -> (out..., in...)
                t = stack(c, 0).reshape(tuple(inp.shape) + tuple(out.shape))
                nd_in, nd_out = len(inp.shape), len(out.shape)
                t = t.permute(tuple(range(nd_in, nd_in + nd_out)) + tuple(range(nd_in)))
            else:
                t = Tensor._wrap(np.zeros(tuple(out.shape) + tuple(inp.shape), dtype=out.dtype))
            row.append(_grad_postprocess((t,), create_graph)[0])
        jac.append(tuple(row))
    return tuple(jac)


def _scalar_output(func, fn_name):
    def wrapped(*inp):
        out = func(*inp)
        is_tuple, t = _as_tuple(out, "the function's output", fn_name)
        if is_tuple or t[0].data.size != 1:
            shape = [tuple(x.shape) for x in t] if is_tuple else tuple(t[0].shape)
            raise RuntimeError(f"{fn_name}: the function must return a single Tensor with one element "
                               f"(a scalar), got {'a tuple of shapes ' if is_tuple else 'shape '}{shape}")
        return t[0].reshape(())
    return wrapped


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of the scalar function ``func`` at ``inputs``.

    One input: a Tensor of shape ``input.shape + input.shape``; a tuple of
    inputs: a tuple of tuples, ``H[i][j]`` of shape ``inputs[i].shape +
    inputs[j].shape``. Computed as the Jacobian of the gradient (recorded with
    ``create_graph``); ``outer_jacobian_strategy`` picks that Jacobian's mode.
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    f = _scalar_output(func, "hessian")

    def jac_func(*inp):
        g = _autograd_grad((f(*inp),), inp, create_graph=True)
        return _fill_in_zeros(g, inp, strict, True, "double_back", "hessian")

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _recorded_gradient(func, inputs, v, create_graph, strict, name):
    """What ``vhp`` and ``hvp`` share: checked inputs and ``v``, ``func``'s scalar output, and its
    gradient recorded (``create_graph=True``) so that it can be differentiated again."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
    inputs = _grad_preprocess(inputs, create_graph, need_graph=True)
    if v is not None:
        _, v = _as_tuple(v, "v", name)
        _validate_v(v, inputs, is_inputs_tuple, name, "input")
    else:
        v = _ones_for_scalars(inputs, name)
    out = _scalar_output(func, name)(*inputs)
    jac = _autograd_grad((out,), inputs, create_graph=True)
    jac = _fill_in_zeros(jac, inputs, strict, create_graph, "double_back", name)
    return is_inputs_tuple, inputs, v, out, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), v^T H)``: a vector-Hessian product of a scalar function (the gradient's vjp)."""
    with enable_grad():
        is_inputs_tuple, inputs, v, out, jac = _recorded_gradient(func, inputs, v, create_graph, strict, "vhp")
        grads = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(grads, inputs, strict, create_graph, "double_back", "vhp")
    out = _grad_postprocess((out,), create_graph)[0]
    return out, _tuple_postprocess(_grad_postprocess(res, create_graph), is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(*inputs), H v)``: a Hessian-vector product of a scalar function.

    By the double-backward trick (as PyTorch's ``hvp``): the gradient
    ``g = grad(f)`` is recorded, then ``u -> J_g^T u`` with a dummy ``u``, whose
    vjp with ``v`` is ``H v``. For the twice continuously differentiable
    functions where ``H`` is symmetric, ``vhp`` gives the same and is cheaper.
    """
    with enable_grad():
        is_inputs_tuple, inputs, v, out, jac = _recorded_gradient(func, inputs, v, create_graph, strict, "hvp")
        u = tuple(Tensor._wrap(np.zeros(t.shape, dtype=t.dtype), requires_grad=True) for t in inputs)
        double_back = _autograd_grad(jac, inputs, u, create_graph=True)
        double_back = _fill_in_zeros(double_back, inputs, strict, create_graph, "double_back_trick", "hvp")
        grads = _autograd_grad(double_back, u, v, create_graph=create_graph)
        res = _fill_in_zeros(grads, inputs, strict, create_graph, "double_back_trick", "hvp")
    out = _grad_postprocess((out,), create_graph)[0]
    return out, _tuple_postprocess(_grad_postprocess(res, create_graph), is_inputs_tuple)
