"""Types, inputs and edge cases where we gave other results than PyTorch, or crashed where it works (issue 11).

Each expected value is a numpy reference or PyTorch 2.13's result, written out (PyTorch is never imported).
"""

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F

nan = float("nan")


def t64(values, requires_grad=False):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def grads(fn, *values):
    """The gradients of ``fn(*inputs).sum()`` for float64 inputs with the given values."""
    xs = [t64(v, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad.data.tolist() for x in xs]


# --------------------------------------------------------------------------- int tensors through float ops

FLOAT_OPS = {
    "sigmoid": (ag.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    "softplus": (F.softplus, lambda a: np.log1p(np.exp(a))),
    "exp": (ag.exp, np.exp),
    "log": (ag.log, np.log),
    "sqrt": (ag.sqrt, np.sqrt),
    "sin": (ag.sin, np.sin),
    "cos": (ag.cos, np.cos),
    "tanh": (ag.tanh, np.tanh),
    "elu": (F.elu, lambda a: np.where(a > 0, a, np.expm1(a))),
    "leaky_relu": (F.leaky_relu, lambda a: np.where(a > 0, a, 0.01 * a)),
    "reciprocal": (ag.reciprocal, lambda a: 1 / a),
    "div": (lambda x: x / ag.tensor([2, 4, 8]), lambda a: a / np.array([2, 4, 8])),
    "softmax": (lambda x: ag.softmax(x, 0), lambda a: np.exp(a) / np.exp(a).sum()),
    "log_softmax": (lambda x: ag.log_softmax(x, 0), lambda a: a - np.log(np.exp(a).sum())),
    "logsumexp": (lambda x: ag.logsumexp(x, 0), lambda a: np.log(np.exp(a).sum())),
    "mean": (ag.mean, np.mean),
    "var": (ag.var, lambda a: np.var(a, ddof=1)),
    "std": (ag.std, lambda a: np.std(a, ddof=1)),
}


@pytest.mark.parametrize("name", sorted(FLOAT_OPS))
def test_an_int_tensor_through_a_float_op_gives_float32(name):
    op, ref = FLOAT_OPS[name]
    for dtype in (np.int64, np.int32, np.uint8):
        a = np.array([1, 2, 3], dtype=dtype)
        out = op(ag.tensor(a))
        assert out.dtype == np.float32, (name, dtype, out.dtype)  # PyTorch's default float
        np.testing.assert_allclose(out.data, ref(a.astype(np.float64)), rtol=1e-6)


def test_int_tensors_follow_the_default_dtype():
    ag.set_default_dtype(np.float64)
    try:
        assert ag.tensor([1, 2]).sigmoid().dtype == np.float64 and ag.tensor([1, 2]).mean().dtype == np.float64
        assert (ag.tensor([1, 2]) / ag.tensor([2, 2])).dtype == np.float64
    finally:
        ag.set_default_dtype(np.float32)


def test_ops_whose_result_is_an_integer_keep_integers():
    x = ag.tensor([1, -2, 3])
    for out in (x.relu(), x.abs(), x.sign(), x.clamp(0, 2), x * 2, x // 2, x % 2, -x):
        assert out.dtype == np.int64


# --------------------------------------------------------------------------- float64 into a float32 layer

@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.Linear(2, 3), (4, 2)),
    (lambda: nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
    (lambda: nn.Conv1d(1, 2, 3), (1, 1, 5)),
    (lambda: nn.ConvTranspose2d(1, 2, 3), (1, 1, 5, 5)),
    (lambda: nn.BatchNorm1d(3), (4, 3)),
    (lambda: nn.BatchNorm2d(1), (2, 1, 3, 3)),
    (lambda: nn.LayerNorm(3), (2, 3)),
    (lambda: nn.GroupNorm(1, 2), (2, 2, 3)),
    (lambda: nn.InstanceNorm2d(2, affine=True, track_running_stats=True), (2, 2, 3, 3)),
    (lambda: nn.PReLU(), (2, 3)),
], ids=["linear", "conv2d", "conv1d", "conv_transpose2d", "batch_norm1d", "batch_norm2d", "layer_norm",
        "group_norm", "instance_norm", "prelu"])
def test_a_float64_input_to_a_float32_layer_is_an_error_naming_both_dtypes_and_the_fix(layer, shape):
    m = layer()
    x = np.random.default_rng(0).standard_normal(shape)
    with pytest.raises(TypeError, match=r"input is float64 but \w+ is float32; convert the input with x\.float\(\), "
                                        r"or the model's parameters with model\.double\(\)"):
        m(ag.tensor(x))
    assert m(ag.tensor(x.astype(np.float32))).dtype == np.float32        # the fixes work
    assert m.double()(ag.tensor(x)).dtype == np.float64
    # an int input: the layer's dtype check, or (norms, prelu) the float-input check before it
    with pytest.raises(TypeError, match=r"input is int64 but \w+ is float64; convert the input with x\.double\(\)|"
                                        r"floating-point (tensor|input), got dtype int64; convert it with \.float\(\)"):
        m(ag.tensor(x.astype(np.int64)))


def test_bilinear_refuses_a_float64_input_to_its_float32_weight():
    m = nn.Bilinear(2, 3, 4)
    with pytest.raises(TypeError, match="input is float64 but weight is float32"):
        m(ag.randn(5, 2, dtype=ag.float64), ag.randn(5, 3, dtype=ag.float64))
    assert m(ag.randn(5, 2), ag.randn(5, 3)).dtype == np.float32


def test_the_lecture_correlate2d_still_promotes_a_float64_kernel():
    x = ag.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]])
    out = ag.correlate2d(x, np.array([[1.0, 0.0]]))
    assert out.dtype == np.float64 and out.tolist() == [[0.0, 1.0, 2.0, 3.0]]


def test_loading_a_float64_state_dict_into_a_float32_model_casts_as_pytorch_does():
    ag.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    sd = {k: v.double() * 0.5 if v.dtype.kind == "f" else v for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    for k, v in m.state_dict().items():
        assert v.dtype == (np.int64 if k.endswith("num_batches_tracked") else np.float32), k
        np.testing.assert_array_equal(v.data, sd[k].data.astype(v.dtype))
    assert m(ag.randn(4, 3)).dtype == np.float32
    with pytest.raises(RuntimeError, match="dtype float64 in the state dict cannot be stored in the module's int64"):
        m.load_state_dict({**sd, "1.num_batches_tracked": ag.tensor(1.5, dtype=np.float64)})


# --------------------------------------------------------------------------- Python lists

@pytest.mark.parametrize("call, arg", [
    (lambda: F.relu([1.0, -2.0]), "input"),
    (lambda: F.conv2d([[[[1.0]]]], ag.ones(1, 1, 1, 1)), "input"),
    (lambda: F.conv2d(ag.ones(1, 1, 1, 1), [[[[1.0]]]]), "weight"),
    (lambda: F.max_pool2d([[[[1.0, 2.0], [3.0, 4.0]]]], 2), "input"),
    (lambda: F.cross_entropy([[1.0, 2.0]], [0]), "input"),
    (lambda: F.cross_entropy(ag.ones(1, 2), [0]), "target"),
    (lambda: nn.Linear(2, 2)([[1.0, 2.0]]), "input"),
    (lambda: ag.exp((1.0, 2.0)), "input"),
    (lambda: ag.maximum(ag.ones(2), [1.0, 2.0]), "other"),
], ids=["relu", "conv2d", "conv2d-weight", "max_pool2d", "cross_entropy", "cross_entropy-target", "Linear",
        "tuple", "other"])
def test_a_python_list_where_a_tensor_goes_is_a_type_error_naming_the_argument(call, arg):
    with pytest.raises(TypeError, match=rf"argument '{arg}' must be a Tensor \(or an ndarray\), not (list|tuple); "
                                        r"convert it first: autograd_core\.tensor\("):
        call()


def test_python_numbers_follow_the_tensor_rules():
    assert ag.add(1.5, 2.5).dtype == np.float32 and ag.add(1.5, 2.5).item() == 4.0   # PyTorch: float32
    assert ag.mul(2, 3).dtype == np.int64
    assert ag.exp(1.0).dtype == np.float32
    assert ag.add(2.5, ag.ones(2, dtype=np.float64)).dtype == np.float64              # a number next to a tensor
    assert ag.add(2, ag.ones(2)).dtype == np.float32
    assert F.relu(np.array([1.0, -2.0])).tolist() == [1.0, 0.0]                        # ndarrays are accepted


# --------------------------------------------------------------------------- wrong results

def test_std_and_var_read_a_positional_bool_as_unbiased():
    x = t64([1.0, 2.0, 4.0])
    assert x.std(False).item() == pytest.approx(np.std([1, 2, 4]))          # PyTorch: 1.2472
    assert x.var(False).item() == pytest.approx(np.var([1, 2, 4]))          # 1.5556
    assert x.var(True).item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert ag.var(x, 0, False).item() == pytest.approx(np.var([1, 2, 4]))   # var(dim, unbiased)
    with pytest.raises(TypeError, match="either unbiased or correction"):
        x.var(unbiased=True, correction=0)


@pytest.mark.parametrize("op", [ag.max, ag.min])
def test_max_min_of_a_0d_tensor_along_dim_0_is_0d(op):
    x = t64(3.0, requires_grad=True)
    for keepdim in (False, True):
        values, indices = op(x, 0, keepdim=keepdim)
        assert values.shape == () and indices.shape == () and values.item() == 3.0 and indices.item() == 0
    values, _ = op(x, -1, keepdim=True)
    values.backward()
    assert x.grad.item() == 1.0
    with pytest.raises(IndexError, match="out of range"):
        op(x, 1)


def test_and_or_xor_not_are_bitwise_on_integers_and_logical_on_bools():
    a, b = ag.tensor([6, 3, -1]), ag.tensor([3, 5, 2])
    assert (a & b).tolist() == [2, 1, 2] and (a & b).dtype == np.int64
    assert (a | b).tolist() == [7, 7, -1]
    assert (a ^ b).tolist() == [5, 6, -3]
    assert (~a).tolist() == [-7, -4, 0]
    assert (a & 1).tolist() == [0, 1, 1] and (1 | a).tolist() == [7, 3, -1]
    p, q = ag.tensor([True, True, False]), ag.tensor([True, False, False])
    assert (p & q).tolist() == [True, False, False] and (p | q).tolist() == [True, True, False]
    assert (p ^ q).tolist() == [False, True, False] and (~p).tolist() == [False, False, True]
    with pytest.raises(TypeError, match="bitwise_and: expects integer or bool tensors, got dtype float32"):
        ag.ones(2) & ag.ones(2)


def test_remainder_has_pytorchs_gradient():
    x, y = [5.5, -3.2, 7.0, 1.0], [2.0, 2.5, -3.0, 4.0]
    gx, gy = grads(lambda a, b: a % b, x, y)
    assert gx == [1.0, 1.0, 1.0, 1.0]
    assert gy == (-np.floor(np.divide(x, y))).tolist()       # PyTorch: [-2, 2, 3, -0]
    a = t64(x, requires_grad=True)
    assert ag.gradcheck(lambda v: v % 2.5, (a,))
    assert (ag.tensor([7, -7]) % 3).tolist() == [1, 2]        # the sign of the divisor, as Python's %


def _clamp_reference(x, lo, hi):
    """PyTorch's clamp(x, lo, hi) value and gradients (x, lo, hi), from its derivative formulas."""
    x, lo, hi = map(np.asarray, (x, lo, hi))
    out = np.minimum(np.maximum(x, lo), hi)
    return out, ((x >= lo) & (x <= hi)) * 1.0, ((x < lo) & (lo < hi)) * 1.0, ((x > hi) | (hi < lo)) * 1.0


@pytest.mark.parametrize("inplace", [False, True])
def test_clamp_with_tensor_bounds_sends_gradients_to_the_bounds(inplace):
    x = [-2.0, 1.0, 1.0, 3.0, 0.5, 5.0, 1.5]
    lo = [1.0, 1.0, 2.0, 1.0, 2.0, 3.0, 1.0]
    hi = [2.0, 2.0, 1.0, 2.0, 2.0, 1.0, 2.0]
    xt, lt, ht = (t64(v, requires_grad=True) for v in (x, lo, hi))
    if inplace:
        y = xt.clone()
        y.clamp_(lt, ht)                                         # PyTorch's clamp_(T, T)
    else:
        y = ag.clamp(xt, lt, ht)
    y.sum().backward()
    out, gx, glo, ghi = _clamp_reference(x, lo, hi)
    assert y.tolist() == out.tolist()
    assert xt.grad.tolist() == gx.tolist() and lt.grad.tolist() == glo.tolist() and ht.grad.tolist() == ghi.tolist()
    # one bound only
    xt2, lt2 = t64(x, requires_grad=True), t64(lo, requires_grad=True)
    y2 = xt2.clone()
    y2.clamp_(min=lt2)
    y2.sum().backward()
    assert lt2.grad.tolist() == (np.array(x) < np.array(lo)).astype(float).tolist()
    assert ag.gradcheck(lambda a, b, c: ag.clamp(a, b, c), (t64([0.3, -0.7, 2.2], True), t64([0.0, -1.0, 0.5], True),
                                                            t64([1.0, 0.0, 2.0], True)))


def test_clamp_with_an_int32_bound_keeps_float32():
    x = ag.tensor([1.0, 5.0])
    assert ag.clamp(x, min=ag.tensor(2, dtype=np.int32)).dtype == np.float32
    assert ag.clamp(x, max=ag.tensor([2, 3], dtype=np.int32)).tolist() == [1.0, 3.0]
    assert ag.clamp(x, max=ag.tensor([2, 3], dtype=np.int32)).dtype == np.float32


def test_sign_of_nan_is_zero_and_logical_not_of_ints_is_bool():
    assert ag.tensor([nan, -1.0, 0.0, 2.0]).sign().tolist() == [0.0, -1.0, 0.0, 1.0]
    out = ag.logical_not(ag.tensor([0, 1, 5]))
    assert out.dtype == np.bool_ and out.tolist() == [True, False, False]


@pytest.mark.parametrize("name, fn, values, expected", [
    ("relu", ag.relu, [[nan, 1.0, -1.0, 0.0]], [[1.0, 1.0, 0.0, 0.0]]),
    ("abs", ag.abs, [[nan, 1.0, -1.0, 0.0]], [[0.0, 1.0, -1.0, 0.0]]),
    ("maximum", ag.maximum, [[nan, 1.0, nan, 2.0, 3.0], [0.0, nan, nan, 2.0, 1.0]],
     [[1.0, 1.0, 1.0, 0.5, 1.0], [1.0, 1.0, 1.0, 0.5, 0.0]]),
    ("minimum", ag.minimum, [[nan, 1.0, nan, 2.0, 3.0], [0.0, nan, nan, 2.0, 1.0]],
     [[1.0, 1.0, 1.0, 0.5, 0.0], [1.0, 1.0, 1.0, 0.5, 1.0]]),
    ("elu", F.elu, [[nan, 1.0, -1.0]], [[1.0, 1.0, float(np.exp(-1.0))]]),
])
def test_gradients_at_nan_inputs_are_pytorchs(name, fn, values, expected):
    assert grads(fn, *values) == expected


def test_relu_kernel_passes_the_gradient_at_nan_too():
    a = np.random.default_rng(0).standard_normal((8, 64, 64)).astype(np.float32)   # large: the Numba kernel
    a[0, 0, :4] = [nan, 0.0, -0.0, -1.0]
    x = ag.tensor(a, requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.data, (~(a <= 0)).astype(np.float32))


# --------------------------------------------------------------------------- crashes

def test_all_any_of_a_0d_tensor_along_dim_0():
    assert ag.tensor(True).all(0).item() is True and ag.tensor(True).all(0).shape == ()
    assert ag.tensor(0.0).any(0, keepdim=True).item() is False and ag.tensor(0.0).any(-1, keepdim=True).shape == ()
    with pytest.raises(IndexError):
        ag.tensor(True).all(1)


def test_transpose_of_a_0d_tensor():
    x = t64(2.0, requires_grad=True)
    y = x.transpose(0, 0)
    assert y.shape == () and y.item() == 2.0
    y.backward()
    assert x.grad.item() == 1.0
    assert ag.transpose(x, -1, 0).item() == 2.0


@pytest.mark.parametrize("op", [ag.softmax, ag.log_softmax])
@pytest.mark.parametrize("shape, dim", [((2, 0), 1), ((2, 0), 0), ((0, 3), 1), ((0, 3), 0)])
def test_softmax_over_a_zero_size_dimension(op, shape, dim):
    x = ag.zeros(*shape, requires_grad=True)
    y = op(x, dim)
    assert y.shape == shape and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.shape == shape


def test_cat_skips_pytorchs_legacy_empty_tensor():
    a = ag.ones(2, 3, requires_grad=True)
    e = ag.tensor([], requires_grad=True)
    assert ag.cat([e, a]).shape == (2, 3) and ag.cat([a, e], 1).shape == (2, 3)
    out = ag.cat([a, e, a * 2], 0)
    assert out.tolist() == [[1.0] * 3] * 2 + [[2.0] * 3] * 2
    out.sum().backward()
    assert a.grad.tolist() == [[3.0] * 3] * 2 and e.grad.shape == (0,)
    assert ag.cat([ag.tensor([]), ag.tensor([])]).shape == (0,)
    assert ag.cat([ag.tensor([]), ag.ones(2, 3, dtype=np.float64)]).dtype == np.float64
    with pytest.raises(ag.ShapeError, match="tensor 1 has shape"):
        ag.cat([ag.ones(2, 3), ag.ones(4)])


def test_batch_norm_of_an_empty_batch():
    rm, rv = ag.full((3,), 0.5), ag.full((3,), 2.0)
    w, b = ag.ones(3, requires_grad=True), ag.zeros(3, requires_grad=True)
    for shape in ((0, 3), (0, 3, 4, 4)):
        x = ag.zeros(*shape, requires_grad=True)
        y = F.batch_norm(x, rm, rv, w, b, training=True)
        assert y.shape == shape
        y.sum().backward()
        assert x.grad.shape == shape
    assert rm.tolist() == [0.5] * 3 and rv.tolist() == [2.0] * 3       # running statistics unchanged
    assert w.grad.tolist() == [0.0] * 3 and b.grad.tolist() == [0.0] * 3
    assert F.batch_norm(ag.zeros(0, 3), rm, rv, training=True).shape == (0, 3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(ag.zeros(1, 3), rm, rv, training=True)


def _pad_reference(a, lo, hi, mode):
    """PyTorch's negative padding along one axis: reflect/replicate pad the whole axis then crop; circular crops
    first, then wraps (each pad at most what is left). None where PyTorch raises (or returns garbage)."""
    n = len(a)
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    if mode == "circular":
        c = a[max(-lo, 0):n - max(-hi, 0)] if max(-lo, 0) <= n - max(-hi, 0) else None
        if c is None or max(lo, hi) > len(c) or (len(c) == 0 and max(lo, hi) > 0):
            return None
        return np.pad(c, (max(lo, 0), max(hi, 0)), mode=np_mode)
    if n + lo + hi < 1 or (mode == "reflect" and max(lo, hi) >= n):
        return None
    p = np.pad(a, (max(lo, 0), max(hi, 0)), mode=np_mode)
    return p[max(-lo, 0):len(p) - max(-hi, 0)]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_with_negative_padding_crops(mode):
    # PyTorch 2.13 on arange(10): reflect (-2, 3) -> 2..9, 8, 7, 6; circular (3, -2) -> 5, 6, 7, 0..7
    known = {"reflect": ((-2, 3), [2, 3, 4, 5, 6, 7, 8, 9, 8, 7, 6]),
             "replicate": ((-2, 3), [2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9]),
             "circular": ((3, -2), [5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7])}
    pads, want = known[mode]
    x = ag.arange(10.0).reshape(1, 1, 10)
    assert F.pad(x, pads, mode=mode)[0, 0].tolist() == want
    for n in (1, 3, 6):
        a = np.arange(float(n))
        for lo in range(-n - 1, n + 2):
            for hi in range(-n - 1, n + 2):
                ref = _pad_reference(a, lo, hi, mode)
                if ref is None:
                    with pytest.raises(ValueError):
                        F.pad(ag.tensor(a).reshape(1, 1, n), (lo, hi), mode=mode)
                else:
                    assert F.pad(ag.tensor(a).reshape(1, 1, n), (lo, hi), mode=mode)[0, 0].tolist() == ref.tolist()
    # 2-D, and the gradient (a gather: each input element gets the count of its copies)
    x = t64(np.arange(12.0).reshape(1, 1, 3, 4), requires_grad=True)
    y = F.pad(x, (-1, 2, 1, -1), mode=mode)
    assert y.shape == (1, 1, 3, 5)
    assert ag.gradcheck(lambda v: F.pad(v, (-1, 2, 1, -1), mode=mode), (x,))


# --------------------------------------------------------------------------- smaller ones

def test_a_hook_returning_a_non_tensor_gets_an_error_naming_the_hook():
    def halve_by_mistake(g):
        return "half"

    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(halve_by_mistake)
    with pytest.raises(TypeError, match="hook 'test_a_hook_returning_a_non_tensor_gets_an_error_naming_the_hook."
                                        "<locals>.halve_by_mistake' returned a str"):
        (x * 2).sum().backward()
    y = ag.tensor([1.0, 2.0], requires_grad=True) * 2
    y.register_hook(lambda g: 0.5)
    with pytest.raises(TypeError, match="hook on output 0 of MulBackward: hook '.*<lambda>' returned a float"):
        y.sum().backward()


def _pool_reference_index(window):
    """Where PyTorch's max pooling sends a window's gradient: its last NaN, else its first maximum."""
    flat = np.asarray(window).ravel()
    nans = np.flatnonzero(np.isnan(flat))
    return int(nans[-1]) if len(nans) else int(np.argmax(flat))


@pytest.mark.parametrize("channels, layout, kernel", [
    (3, "nchw", 2), (3, "channels_last", 2), (20, "nchw", 3), (3, "nchw", 3), (20, "nchw", 2),
], ids=["planar_2x2", "nhwc", "nhwc-3x3", "planar", "planar_2x2-20"])
def test_max_pool_windows_with_several_nans_send_the_gradient_where_pytorch_does(channels, layout, kernel):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, (2, channels, 6, 6)).astype(np.float64)   # ties
    a[rng.random(a.shape) < 0.3] = nan                                 # many windows with several NaNs
    x = ag.tensor(a if layout == "nchw" else np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
                  requires_grad=True)
    y, idx = F.max_pool2d(x, kernel, stride=kernel, return_indices=True)
    y.sum().backward()
    want_grad = np.zeros_like(a)
    for n in range(2):
        for c in range(channels):
            for i in range(6 // kernel):
                for j in range(6 // kernel):
                    win = a[n, c, i * kernel:(i + 1) * kernel, j * kernel:(j + 1) * kernel]
                    k = _pool_reference_index(win)
                    h, w = i * kernel + k // kernel, j * kernel + k % kernel
                    assert idx[n, c, i, j].item() == h * 6 + w
                    want_grad[n, c, h, w] += 1
    np.testing.assert_array_equal(x.grad.data, want_grad)
