"""Check analytical gradients against finite differences.

``gradcheck(fn, inputs)`` compares, for every output ``o`` and every input ``i``
that requires grad, the Jacobian d o / d i computed two ways:

* numerically, by central differences ``(f(x + eps e_j) - f(x - eps e_j)) / 2 eps``;
* analytically, one backward pass per output element (rows of the Jacobian,
  i.e. vector-Jacobian products with unit vectors).

An element passes when ``|analytical - numerical| <= atol + rtol * |numerical|``.
It also checks that backward is deterministic (two runs agree exactly) and that
a zero upstream gradient gives a zero gradient. Use float64 inputs: in float32
the finite differences themselves are wrong at the 1e-3 level.

``fast_mode=True`` compares one random projection ``v^T J u`` per (output,
input) pair instead of the whole Jacobian: much cheaper for large inputs, but
a failure cannot point at an element.
"""

from __future__ import annotations

import warnings

import numpy as np

from .autograd import grad as _grad
from .function import no_grad, enable_grad
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """The analytical and numerical gradients disagree (or backward misbehaves)."""


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _outputs(fn, inputs):
    out = _as_tuple(fn(*inputs))
    for k, o in enumerate(out):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: output {k} of fn is a {type(o).__name__}, expected a Tensor")
    return out


def _fmt(a):
    with np.printoptions(precision=6, suppress=False, linewidth=120, threshold=200):
        return str(a)


def _numerical_jacobians(fn, inputs, diff_idx, outs0, eps):
    """J[o][i] of shape (out_numel, in_numel) by central differences."""
    jac = {}
    for i in diff_idx:
        x = inputs[i].data
        cols = []
        flat = x.reshape(-1)  # a view: perturb in place, restore exactly
        if x.size and not np.shares_memory(flat, x):
            raise RuntimeError("gradcheck: input arrays must be contiguous")
        for j in range(x.size):
            orig = flat[j]
            flat[j] = orig + eps
            with no_grad():
                plus = [o.data.astype(np.float64, copy=True) for o in _outputs(fn, inputs)]
            flat[j] = orig - eps
            with no_grad():
                minus = [o.data.astype(np.float64, copy=True) for o in _outputs(fn, inputs)]
            flat[j] = orig
            cols.append([((p - m) / (2 * eps)).reshape(-1) for p, m in zip(plus, minus)])
        for o in range(len(outs0)):
            if x.size:
                jac[o, i] = np.stack([c[o] for c in cols], axis=1)
            else:
                jac[o, i] = np.zeros((outs0[o].data.size, 0))
    return jac


def _vjp(outs, diff_inputs, grad_outputs):
    """Gradients w.r.t. ``diff_inputs`` as float64 arrays (zeros where unused)."""
    pairs = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
    if not pairs:
        return [np.zeros(x.shape) for x in diff_inputs]
    res = _grad([p[0] for p in pairs], diff_inputs, [p[1] for p in pairs], retain_graph=True,
                allow_unused=True)
    out = []
    for x, g in zip(diff_inputs, res):
        if g is None:
            out.append(np.zeros(x.shape))
            continue
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError(f"gradcheck: gradient of shape {tuple(g.shape)} for an input of shape {tuple(x.shape)}")
        out.append(g.data.astype(np.float64))
    return out


def _analytical_jacobians(outs, inputs, diff_idx):
    diff_inputs = [inputs[i] for i in diff_idx]
    jac = {}
    for o, out in enumerate(outs):
        n = out.data.size
        rows = [[] for _ in diff_idx]
        for k in range(n):
            gos = [Tensor._wrap(np.zeros(x.shape, dtype=x.dtype)) for x in outs]
            gos[o].data.reshape(-1)[k] = 1
            for r, g in zip(rows, _vjp(outs, diff_inputs, gos)):
                r.append(g.reshape(-1))
        for col, i in enumerate(diff_idx):
            size = inputs[i].data.size
            jac[o, i] = np.stack(rows[col], axis=0) if n else np.zeros((0, size))
    return jac


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _compare(jn, ja, o, i, outs, inputs, atol, rtol):
    """The message for the worst mismatching element, or None if all agree."""
    if jn.shape != ja.shape:
        return f"Jacobian shapes differ for output {o} / input {i}: numerical {jn.shape}, analytical {ja.shape}"
    err = np.abs(ja - jn)
    tol = atol + rtol * np.abs(jn)
    bad = ~(err <= tol)  # NaN counts as a mismatch
    if not bad.any():
        return None
    excess = np.where(bad, np.nan_to_num(err - tol, nan=np.inf), -np.inf)
    r, c = np.unravel_index(int(np.argmax(excess)), excess.shape)
    out_idx = np.unravel_index(r, outs[o].shape) if outs[o].ndim else ()
    in_idx = np.unravel_index(c, inputs[i].shape) if inputs[i].ndim else ()
    out_idx = tuple(int(v) for v in out_idx)
    in_idx = tuple(int(v) for v in in_idx)
    name = outs[o].grad_fn.name() if outs[o].grad_fn is not None else "a constant output"
    msg = (
        f"Jacobian mismatch for output {o} (shape {tuple(outs[o].shape)}, produced by {name}) with respect "
        f"to input {i} (shape {tuple(inputs[i].shape)}).\n"
        f"  worst element: d output{list(out_idx)} / d input{list(in_idx)}\n"
        f"  numerical:  {float(jn[r, c])!r}\n"
        f"  analytical: {float(ja[r, c])!r}\n"
        f"  abs error {err[r, c]:.3e} > atol + rtol * |numerical| = {atol:g} + {rtol:g} * {abs(jn[r, c]):.3e} "
        f"= {tol[r, c]:.3e}\n"
        f"  {int(bad.sum())} of {bad.size} elements mismatch."
    )
    if jn.size <= 64:
        msg += f"\nNumerical Jacobian (rows: output elements, columns: input elements):\n{_fmt(jn)}" \
               f"\nAnalytical Jacobian:\n{_fmt(ja)}"
    return msg


def _prepare(fn, inputs, what):
    inputs = _as_tuple(inputs)
    diff_idx = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff_idx:
        raise ValueError(f"{what}: no input has requires_grad=True; mark the inputs to check with requires_grad=True")
    for k in diff_idx:
        x = inputs[k]
        if x.dtype != np.float64:
            warnings.warn(
                f"{what}: input {k} is {x.dtype}, not float64; finite differences in low precision give "
                "false failures. Use inputs of dtype float64 (x.double()).", UserWarning, stacklevel=3)
        if not x.data.flags.c_contiguous or not x.data.flags.writeable:
            inputs = inputs[:k] + (Tensor._wrap(np.ascontiguousarray(x.data).copy(), requires_grad=True),) \
                + inputs[k + 1:]
    return inputs, diff_idx


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, fast_mode=False):
    """Check ``fn``'s gradients w.r.t. its inputs against central finite differences.

    Parameters
    ----------
    fn : callable
        Takes the inputs (positionally), returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple
        Arguments for ``fn``; those with ``requires_grad=True`` are checked.
        Use float64.
    eps : float
        Finite-difference step.
    atol, rtol : float
        An element passes if ``|analytical - numerical| <= atol + rtol * |numerical|``.
    raise_exception : bool
        Raise ``GradcheckError`` on failure (else return False).
    fast_mode : bool
        Compare one random projection per (output, input) pair instead of full Jacobians.

    Returns
    -------
    bool
        True if every check passed.
    """
    inputs, diff_idx = _prepare(fn, inputs, "gradcheck")
    outs = _outputs(fn, inputs)
    diff_inputs = [inputs[i] for i in diff_idx]

    # a zero upstream gradient must give a zero gradient
    zeros = [Tensor._wrap(np.zeros(o.shape, dtype=o.dtype)) for o in outs]
    for i, g in zip(diff_idx, _vjp(outs, diff_inputs, zeros)):
        if np.any(g != 0):
            return _fail(
                f"backward is not linear in its upstream gradient: a zero gradient for every output gave a "
                f"non-zero gradient for input {i} (max |g| = {np.nanmax(np.abs(g)):.3e})", raise_exception)

    if fast_mode:
        return _fast(fn, inputs, diff_idx, outs, eps, atol, rtol, raise_exception)

    num = _numerical_jacobians(fn, inputs, diff_idx, outs, eps)
    ana = _analytical_jacobians(outs, inputs, diff_idx)
    again = _analytical_jacobians(outs, inputs, diff_idx)
    for key in ana:
        if not np.array_equal(ana[key], again[key], equal_nan=True):
            o, i = key
            d = np.nanmax(np.abs(ana[key] - again[key]))
            return _fail(
                f"backward is not deterministic: two backward passes gave different gradients for output {o} "
                f"w.r.t. input {i} (max difference {d:.3e})", raise_exception)
    for (o, i), ja in ana.items():
        msg = _compare(num[o, i], ja, o, i, outs, inputs, atol, rtol)
        if msg is not None:
            return _fail(msg, raise_exception)
    return True


def _fast(fn, inputs, diff_idx, outs, eps, atol, rtol, raise_exception):
    rng = np.random.default_rng(0)
    us = {i: rng.standard_normal(inputs[i].shape) for i in diff_idx}
    vs = [rng.standard_normal(o.shape) for o in outs]
    gos = [Tensor._wrap(v.astype(o.dtype)) for v, o in zip(vs, outs)]
    diff_inputs = [inputs[i] for i in diff_idx]
    ana = dict(zip(diff_idx, _vjp(outs, diff_inputs, gos)))
    again = dict(zip(diff_idx, _vjp(outs, diff_inputs, gos)))
    for i in diff_idx:
        if not np.array_equal(ana[i], again[i], equal_nan=True):
            return _fail(f"backward is not deterministic for input {i}", raise_exception)
    for i in diff_idx:
        x = inputs[i].data
        orig = x.copy()
        x += eps * us[i]
        with no_grad():
            plus = [o.data.astype(np.float64) for o in _outputs(fn, inputs)]
        x[...] = orig - eps * us[i]
        with no_grad():
            minus = [o.data.astype(np.float64) for o in _outputs(fn, inputs)]
        x[...] = orig
        for o in range(len(outs)):
            jvp = (plus[o] - minus[o]) / (2 * eps)
            n_val = float(np.sum(vs[o] * jvp))
            if len(outs) == 1:
                a_val = float(np.sum(ana[i] * us[i]))
            else:  # isolate output o: backward with v only on o
                only = [Tensor._wrap((vs[k] if k == o else np.zeros(outs[k].shape)).astype(outs[k].dtype))
                        for k in range(len(outs))]
                g = _vjp(outs, [inputs[i]], only)[0]
                a_val = float(np.sum(g * us[i]))
            if not abs(a_val - n_val) <= atol + rtol * abs(n_val):
                return _fail(
                    f"Jacobian mismatch (fast mode) for output {o} (shape {tuple(outs[o].shape)}) with respect to "
                    f"input {i} (shape {tuple(inputs[i].shape)}): the projection v^T J u is {n_val!r} "
                    f"numerically and {a_val!r} analytically (abs error {abs(a_val - n_val):.3e} > "
                    f"{atol:g} + {rtol:g} * {abs(n_val):.3e}). Run with fast_mode=False to find the element.",
                    raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
                  fast_mode=False):
    """Check second derivatives: gradcheck of the map (inputs, v) -> v^T J(inputs).

    ``grad_outputs`` are the upstream gradients ``v`` (random float64 of each
    output's shape when None); they are differentiated too, as PyTorch does.
    """
    inputs, diff_idx = _prepare(fn, inputs, "gradgradcheck")
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        grad_outputs = tuple(Tensor._wrap(rng.standard_normal(o.shape).astype(o.dtype), requires_grad=True)
                             for o in outs if o.requires_grad)
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n_in], args[n_in:]
        with enable_grad():  # also while gradcheck evaluates finite differences under no_grad
            ys = [y for y in _as_tuple(fn(*xs)) if y.requires_grad]
            diff = [xs[i] for i in diff_idx]
            gs = _grad(ys, diff, vs, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else Tensor._wrap(np.zeros(x.shape, dtype=x.dtype))
                     for g, x in zip(gs, diff))

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, fast_mode=fast_mode)
