"""Property-test your own ops: Hypothesis strategies and a one-line checker.

Needs ``hypothesis`` (``pip install autograd-core[dev]``).

Strategies
----------
``shapes()``                 array shapes
``divisible_shapes({1: 4})`` shapes whose given axes are multiples of given ints
                             (channels divisible by ``groups``, by ``r**2``...)
``broadcastable_shapes(n)``  ``n`` mutually broadcastable shapes
``float_arrays(shape)``      float64 arrays, optionally kept away from kinks
``away_from(arrays, kinks, gap)`` and ``untied(arrays, gap)`` post-process drawn
values so finite differences never straddle a kink (ReLU at 0) or a tie (max).

Checker
-------
``check_op(op, reference, ...)`` runs a Hypothesis test now (call it inside a
test function); ``op_test(...)`` returns such a test function, so one line::

    test_swish = op_test(swish, lambda x: x / (1 + np.exp(-x)))

draws inputs, compares ``op`` with the numpy ``reference`` (float64 and float32),
checks that inputs and the upstream gradient are not mutated, and runs
``gradcheck`` (and ``gradgradcheck``) in float64.
"""

from __future__ import annotations

import numpy as np

try:
    from hypothesis import assume, given, settings, strategies as st, HealthCheck
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # pragma: no cover
    raise ImportError("autograd_core.testing needs hypothesis: pip install hypothesis") from e

from .tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["shapes", "divisible_shapes", "broadcastable_shapes", "float_arrays", "away_from", "untied", "op_inputs",
           "check_op", "op_test"]


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Strategy for array shapes."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def divisible_shapes(divisors, min_dims=None, max_dims=None, min_side=1, max_side=4):
    """Strategy for shapes whose size along each axis in ``divisors`` is a multiple of the given int.

    ``divisors`` maps an axis (negative counts from the end) to its divisor, e.g.
    ``divisible_shapes({1: 3}, min_dims=4, max_dims=4)`` for (N, C, H, W) inputs
    of a conv with ``groups=3``. The other axes are ``min_side..max_side``; a
    constrained axis is ``divisor * k`` for ``k`` in ``min_side..max_side``.
    ``min_dims`` defaults to the fewest dimensions that hold every listed axis.
    To draw the divisor too, flat-map over it::

        st.integers(1, 3).flatmap(lambda g: divisible_shapes({1: g}, 4, 4).map(lambda s: (s, g)))
    """
    need = max([a + 1 if a >= 0 else -a for a in divisors] + [0])
    min_dims = need if min_dims is None else min_dims
    max_dims = max(min_dims, 3) if max_dims is None else max_dims
    if min_dims < need:
        raise ValueError(f"divisible_shapes: axes {sorted(divisors)} need at least {need} dimensions, "
                         f"got min_dims={min_dims}")
    for axis, d in divisors.items():
        if not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"divisible_shapes: the divisor of axis {axis} must be a positive int, got {d!r}")

    def fix(shape):
        out = list(shape)
        for axis, d in divisors.items():
            out[axis] *= d
        return tuple(out)

    return shapes(min_dims, max_dims, min_side, max_side).map(fix)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Strategy for a tuple of ``num_shapes`` shapes that broadcast together."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda r: r.input_shapes)


def float_arrays(shape, low=-3.0, high=3.0, dtype=np.float64):
    """Strategy for float arrays with elements in ``[low, high]``."""
    return hnp.arrays(dtype, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False,
                                                       width=64 if dtype == np.float64 else 32))


def away_from(arr, kinks, gap):
    """Move elements within ``gap`` of a kink to ``gap`` away from it."""
    arr = np.array(arr, dtype=np.float64)
    for k in kinks:
        close = np.abs(arr - k) < gap
        arr[close] = k + np.where(arr[close] >= k, gap, -gap)
    return arr


def untied(arrays, gap):
    """Spread the values of several arrays so that no two are within ``gap``.

    Adds ``rank * gap`` to each value (order-preserving), so maxima and minima
    are unique and finite differences do not cross a tie.
    """
    flat = np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]) if arrays else np.zeros(0)
    ranks = np.empty(flat.size)
    ranks[np.argsort(flat, kind="stable")] = np.arange(flat.size)
    flat = flat + ranks * gap
    out, start = [], 0
    for a in arrays:
        n = np.size(a)
        out.append(flat[start:start + n].reshape(np.shape(a)))
        start += n
    return out


@st.composite
def op_inputs(draw, n_inputs=1, shapes=None, domain=(-3.0, 3.0), kinks=(), distinct=False, gap=1e-2,
              broadcast=True, max_dims=3, max_side=4):
    """Strategy for a list of float64 input arrays for an ``n_inputs``-ary op.

    ``shapes``: a strategy for the tuple of shapes (default: mutually
    broadcastable shapes if ``broadcast`` else one shared shape). ``domain``: one
    ``(low, high)`` for all inputs or one per input. ``kinks``: points where the
    op is not differentiable; ``distinct``: spread values apart (for max/min).
    """
    if shapes is None:
        if broadcast and n_inputs > 1:
            shapes = broadcastable_shapes(n_inputs, max_dims=max_dims, max_side=max_side)
        else:
            shapes = globals()["shapes"](max_dims=max_dims, max_side=max_side).map(lambda s: (s,) * n_inputs)
    shp = draw(shapes)
    domains = domain if isinstance(domain[0], (tuple, list)) else [domain] * n_inputs
    arrays = [draw(float_arrays(s, lo, hi)) for s, (lo, hi) in zip(shp, domains)]
    if distinct:
        arrays = untied(arrays, gap)
    if kinks:
        arrays = [away_from(a, kinks, gap) for a in arrays]
    if distinct and kinks:
        # Moving values off a kink can tie two of them again (0.0 and 0.01 both become gap); with a kink
        # at 0 the op usually sees |x| (norms), so x and -x count as a tie too. Such draws are dropped.
        flat = np.concatenate([a.reshape(-1) for a in arrays])
        for v in (flat, np.abs(flat)) if 0 in kinks else (flat,):
            v = np.sort(v)
            assume(v.size < 2 or np.min(np.diff(v)) >= gap / 2)
    return arrays


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _values_match(op, reference, arrays, kwargs, dtype, rtol, atol):
    ins = [Tensor._wrap(a.astype(dtype)) for a in arrays]
    got = _as_tuple(op(*ins, **kwargs))
    want = _as_tuple(reference(*[a.astype(dtype) for a in arrays], **kwargs))
    assert len(got) == len(want), f"op returned {len(got)} outputs, reference {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        w = np.asarray(w)
        assert isinstance(g, Tensor), f"output {k} is a {type(g).__name__}, not a Tensor"
        assert g.shape == w.shape, f"output {k}: shape {g.shape}, reference {w.shape}"
        if w.dtype.kind == "f":
            assert g.dtype == dtype, f"output {k}: dtype {g.dtype} for {np.dtype(dtype).name} inputs"
        np.testing.assert_allclose(g.data, w, rtol=rtol, atol=atol, err_msg=f"output {k} ({np.dtype(dtype).name})")


def _check_once(op, reference, arrays, kwargs, grad, gradgrad, rtol, atol, grad_atol, grad_rtol):
    _values_match(op, reference, arrays, kwargs, np.float64, rtol, atol)
    _values_match(op, reference, arrays, kwargs, np.float32, max(rtol, 1e-4), max(atol, 1e-5))
    if not grad:
        return
    ins = [Tensor._wrap(a.copy(), requires_grad=True) for a in arrays]
    before = [a.copy() for a in arrays]
    outs = _as_tuple(op(*ins, **kwargs))
    diff = [o for o in outs if o.requires_grad]
    if diff:
        gos = [Tensor._wrap(np.random.default_rng(0).standard_normal(o.shape)) for o in diff]
        gos_before = [g.data.copy() for g in gos]
        from .autograd import grad as _grad
        _grad(diff, ins, gos, allow_unused=True)
        for g, b in zip(gos, gos_before):
            np.testing.assert_array_equal(g.data, b, err_msg="backward modified the upstream gradient in place")
    for x, b in zip(ins, before):
        np.testing.assert_array_equal(x.data, b, err_msg="the op modified its input in place")

    def fn(*xs):
        return op(*xs, **kwargs)

    gradcheck(fn, tuple(ins), atol=grad_atol, rtol=grad_rtol)
    if gradgrad:
        gradgradcheck(fn, tuple(ins), atol=grad_atol, rtol=grad_rtol)


def check_op(op, reference, n_inputs=1, *, kwargs=None, shapes=None, domain=(-3.0, 3.0), kinks=(),
             distinct=False, gap=1e-2, broadcast=True, grad=True, gradgrad=True, rtol=1e-7, atol=1e-10,
             grad_atol=1e-5, grad_rtol=1e-3, max_dims=3, max_side=4, max_examples=None):
    """Property-test ``op`` against a numpy ``reference`` and gradcheck, right now.

    Parameters
    ----------
    op : callable
        Takes ``n_inputs`` Tensors (and ``**kwargs``), returns a Tensor or tuple.
    reference : callable
        The same on ndarrays, in plain numpy.
    kwargs : dict, strategy, or callable(shapes) -> strategy, optional
        Extra keyword arguments for both.
    shapes, domain, kinks, distinct, gap, broadcast, max_dims, max_side
        Passed to ``op_inputs``.
    grad, gradgrad : bool
        Run gradcheck / gradgradcheck in float64.
    rtol, atol : float
        Tolerances for values in float64 (float32 uses at least 1e-4 / 1e-5).
    max_examples : int, optional
        Overrides the active Hypothesis profile.
    """
    test = op_test(op, reference, n_inputs, kwargs=kwargs, shapes=shapes, domain=domain, kinks=kinks,
                   distinct=distinct, gap=gap, broadcast=broadcast, grad=grad, gradgrad=gradgrad, rtol=rtol,
                   atol=atol, grad_atol=grad_atol, grad_rtol=grad_rtol, max_dims=max_dims, max_side=max_side,
                   max_examples=max_examples)
    test()


def op_test(op, reference, n_inputs=1, *, kwargs=None, shapes=None, domain=(-3.0, 3.0), kinks=(),
            distinct=False, gap=1e-2, broadcast=True, grad=True, gradgrad=True, rtol=1e-7, atol=1e-10,
            grad_atol=1e-5, grad_rtol=1e-3, max_dims=3, max_side=4, max_examples=None):
    """Return a Hypothesis test function (assign it to a ``test_*`` name); see ``check_op``."""
    inputs = op_inputs(n_inputs=n_inputs, shapes=shapes, domain=domain, kinks=kinks, distinct=distinct,
                       gap=gap, broadcast=broadcast, max_dims=max_dims, max_side=max_side)
    if kwargs is None:
        kw_strategy = lambda arrays: st.just({})  # noqa: E731
    elif isinstance(kwargs, dict):
        kw_strategy = lambda arrays: st.just(kwargs)  # noqa: E731
    elif callable(kwargs) and not isinstance(kwargs, st.SearchStrategy):
        kw_strategy = lambda arrays: kwargs([a.shape for a in arrays])  # noqa: E731
    else:
        kw_strategy = lambda arrays: kwargs  # noqa: E731

    @st.composite
    def case(draw):
        arrays = draw(inputs)
        return arrays, draw(kw_strategy(arrays))

    @given(case())
    def test(c):
        arrays, kw = c
        _check_once(op, reference, arrays, kw, grad, gradgrad, rtol, atol, grad_atol, grad_rtol)

    extra = {"suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large], "deadline": None}
    if max_examples is not None:
        extra["max_examples"] = max_examples
    test = settings(**extra)(test)
    test.__name__ = f"test_{getattr(op, '__name__', 'op')}"
    return test
