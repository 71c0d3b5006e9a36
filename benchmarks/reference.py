"""Plain numpy references for every benchmarked kernel (forward and gradients).

These are written for obviousness, independently of ``autograd_core``'s
kernels: convolution is a strided window view of the padded input contracted
with the weight by ``np.tensordot`` (im2col + GEMM done by numpy), gradients are
the textbook adjoints. They serve twice: as the correctness reference each case
is checked against before it is timed, and as the ``numpy`` framework of
``--compare numpy``.

Only numpy is imported here (this module also runs under an interpreter that
has PyTorch but not ``autograd_core``).

Layouts and signatures follow PyTorch: ``x`` is ``(N, C, H, W)``, a conv2d
weight is ``(K, C // groups, R, S)``, a conv_transpose2d weight is
``(C_in, C_out // groups, R, S)``; ``stride``, ``padding`` and ``dilation`` are
pairs.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

# --------------------------------------------------------------------------- sizes


def conv_out_size(size, kernel, stride, padding, dilation):
    """PyTorch's (and the lecture's) output-size rule: floor((N + 2P - D(F-1) - 1) / S) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_out_size(size, kernel, stride, padding, output_padding, dilation):
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_out_size(size, kernel, stride, padding, ceil_mode):
    """Pooling output size with PyTorch's ``ceil_mode`` rule (a window may not start in the right padding)."""
    num = size + 2 * padding - kernel
    out = (-(-num // stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


# --------------------------------------------------------------------------- conv


def _windows(xp, R, S, stride, dilation, Ho, Wo):
    """A read-only ``(N, C, Ho, Wo, R, S)`` view of the padded input: window (h, w), tap (r, s)."""
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = stride, dilation
    return as_strided(xp, shape=xp.shape[:2] + (Ho, Wo, R, S),
                      strides=(sN, sC, sH * sh, sW * sw, sH * dh, sW * dw), writeable=False)


def _pad2(x, padding):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Cross-correlation: y[n, k, h, w] = b[k] + sum_{c,r,s} x_pad[n, c, h*sh + r*dh, w*sw + s*dw] w[k, c, r, s]."""
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    Ho = conv_out_size(H, R, stride[0], padding[0], dilation[0])
    Wo = conv_out_size(W, S, stride[1], padding[1], dilation[1])
    win = _windows(_pad2(x, padding), R, S, stride, dilation, Ho, Wo)
    Kg = K // groups
    y = np.empty((N, K, Ho, Wo), dtype=np.result_type(x, w))
    for g in range(groups):
        cols = win[:, g * Cg:(g + 1) * Cg]
        yg = np.tensordot(cols, w[g * Kg:(g + 1) * Kg], axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, Kg)
        y[:, g * Kg:(g + 1) * Kg] = yg.transpose(0, 3, 1, 2)
    if b is not None:
        y += b.reshape(1, K, 1, 1)
    return y


def conv2d_input_grad(gy, w, x_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Adjoint of conv2d w.r.t. its input: scatter gy * w back onto the taps each output read."""
    N, C, H, W = x_shape
    K, Cg, R, S = w.shape
    _, _, Ho, Wo = gy.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    Kg = K // groups
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=np.result_type(gy, w))
    for g in range(groups):
        cols = np.tensordot(gy[:, g * Kg:(g + 1) * Kg], w[g * Kg:(g + 1) * Kg], axes=([1], [0]))  # N,Ho,Wo,Cg,R,S
        cols = cols.transpose(0, 3, 4, 5, 1, 2)  # N, Cg, R, S, Ho, Wo
        for r in range(R):
            for s in range(S):
                dxp[:, g * Cg:(g + 1) * Cg,
                    r * dh: r * dh + sh * (Ho - 1) + 1: sh,
                    s * dw: s * dw + sw * (Wo - 1) + 1: sw] += cols[:, :, r, s]
    return dxp[:, :, ph:ph + H, pw:pw + W]


def conv2d_weight_grad(x, gy, w_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Gradient of conv2d w.r.t. its weight: correlate the input windows with gy."""
    K, Cg, R, S = w_shape
    _, _, Ho, Wo = gy.shape
    win = _windows(_pad2(x, padding), R, S, stride, dilation, Ho, Wo)
    Kg = K // groups
    dw = np.empty(w_shape, dtype=np.result_type(x, gy))
    for g in range(groups):
        dw[g * Kg:(g + 1) * Kg] = np.tensordot(gy[:, g * Kg:(g + 1) * Kg], win[:, g * Cg:(g + 1) * Cg],
                                               axes=([0, 2, 3], [0, 2, 3]))
    return dw


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1,
                     dilation=(1, 1)):
    """The adjoint of conv2d w.r.t. its input, with the conv_transpose2d weight layout."""
    N, Cin, H, W = x.shape
    _, Cout_g, R, S = w.shape
    Ho = conv_transpose_out_size(H, R, stride[0], padding[0], output_padding[0], dilation[0])
    Wo = conv_transpose_out_size(W, S, stride[1], padding[1], output_padding[1], dilation[1])
    y = conv2d_input_grad(x, w, (N, Cout_g * groups, Ho, Wo), stride, padding, dilation, groups)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(y)


def conv_transpose2d_grads(x, w, gy, stride, padding, groups, dilation):
    """(dx, dw, db) of conv_transpose2d: a forward conv2d and a weight gradient with the roles swapped."""
    dx = conv2d(gy, w, None, stride, padding, dilation, groups)
    dw = conv2d_weight_grad(gy, x, w.shape, stride, padding, dilation, groups)
    return dx, dw, gy.sum(axis=(0, 2, 3))


# --------------------------------------------------------------------------- pooling


def _pool_geometry(H, W, kernel, stride, padding, ceil_mode):
    Ho = pool_out_size(H, kernel[0], stride[0], padding[0], ceil_mode)
    Wo = pool_out_size(W, kernel[1], stride[1], padding[1], ceil_mode)
    # padded extent the windows need (ceil_mode windows may run past the right padding)
    Hp = max(H + 2 * padding[0], (Ho - 1) * stride[0] + kernel[0])
    Wp = max(W + 2 * padding[1], (Wo - 1) * stride[1] + kernel[1])
    return Ho, Wo, Hp, Wp


def _pad_to(x, padding, Hp, Wp, value):
    N, C, H, W = x.shape
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, Hp - H - ph), (pw, Wp - W - pw)), constant_values=value)


def max_pool2d(x, kernel, stride, padding=(0, 0), ceil_mode=False):
    """Returns (y, idx): idx is the flat ``h * W + w`` input position of each maximum (first one wins)."""
    N, C, H, W = x.shape
    Ho, Wo, Hp, Wp = _pool_geometry(H, W, kernel, stride, padding, ceil_mode)
    xp = _pad_to(x, padding, Hp, Wp, -np.inf)
    win = _windows(xp, kernel[0], kernel[1], stride, (1, 1), Ho, Wo).reshape(N, C, Ho, Wo, -1)
    am = win.argmax(axis=-1)
    y = np.take_along_axis(win, am[..., None], axis=-1)[..., 0]
    hi = np.arange(Ho).reshape(Ho, 1) * stride[0] - padding[0] + am // kernel[1]
    wi = np.arange(Wo).reshape(1, Wo) * stride[1] - padding[1] + am % kernel[1]
    return np.ascontiguousarray(y), hi * W + wi


def max_pool2d_backward(gy, idx, x_shape):
    N, C, H, W = x_shape
    base = (np.arange(N * C) * (H * W)).reshape(N, C, 1, 1)
    gx = np.bincount((idx + base).ravel(), weights=gy.ravel(), minlength=N * C * H * W)
    return gx.astype(gy.dtype).reshape(x_shape)


def _avg_divisor(H, W, Ho, Wo, kernel, stride, padding, count_include_pad, dtype):
    """PyTorch's divisor per output: the window clipped to the padded input (or to the input)."""
    def axis(size, out, k, s, p):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        full = end - start
        inner = np.minimum(end, size) - np.maximum(start, 0)
        return full, inner
    fh, ih = axis(H, Ho, kernel[0], stride[0], padding[0])
    fw, iw = axis(W, Wo, kernel[1], stride[1], padding[1])
    div = np.outer(fh, fw) if count_include_pad else np.outer(ih, iw)
    return div.astype(dtype)


def avg_pool2d(x, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    N, C, H, W = x.shape
    Ho, Wo, Hp, Wp = _pool_geometry(H, W, kernel, stride, padding, ceil_mode)
    xp = _pad_to(x, padding, Hp, Wp, 0)
    s = _windows(xp, kernel[0], kernel[1], stride, (1, 1), Ho, Wo).sum(axis=(-2, -1))
    return s / _avg_divisor(H, W, Ho, Wo, kernel, stride, padding, count_include_pad, x.dtype)


def avg_pool2d_backward(gy, x_shape, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    N, C, H, W = x_shape
    Ho, Wo, Hp, Wp = _pool_geometry(H, W, kernel, stride, padding, ceil_mode)
    g = gy / _avg_divisor(H, W, Ho, Wo, kernel, stride, padding, count_include_pad, gy.dtype)
    gxp = np.zeros((N, C, Hp, Wp), dtype=gy.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            gxp[:, :, i:i + stride[0] * (Ho - 1) + 1:stride[0], j:j + stride[1] * (Wo - 1) + 1:stride[1]] += g
    return np.ascontiguousarray(gxp[:, :, padding[0]:padding[0] + H, padding[1]:padding[1] + W])


def _adaptive_ranges(size, out):
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    N, C, H, W = x.shape
    y = np.empty((N, C) + tuple(output_size), dtype=x.dtype)
    for i, (h0, h1) in enumerate(_adaptive_ranges(H, output_size[0])):
        for j, (w0, w1) in enumerate(_adaptive_ranges(W, output_size[1])):
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(gy, x_shape):
    N, C, H, W = x_shape
    gx = np.zeros(x_shape, dtype=gy.dtype)
    for i, (h0, h1) in enumerate(_adaptive_ranges(H, gy.shape[2])):
        for j, (w0, w1) in enumerate(_adaptive_ranges(W, gy.shape[3])):
            gx[:, :, h0:h1, w0:w1] += (gy[:, :, i, j] / ((h1 - h0) * (w1 - w0)))[:, :, None, None]
    return gx


# --------------------------------------------------------------------------- elementwise and reductions


def _erf(x):
    """numpy has no erf: Python's math.erf per element (the C library's)."""
    import math
    return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1)


def _normal_cdf(x):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2 (float64)."""
    return 0.5 * (1 + _erf(np.asarray(x, np.float64) / np.sqrt(2)))


def _gelu(x):
    return (x * _normal_cdf(x)).astype(x.dtype)


def _gelu_grad(g, y, x):
    pdf = np.exp(-0.5 * x.astype(np.float64) ** 2) / np.sqrt(2 * np.pi)
    return ((g * (_normal_cdf(x) + x * pdf)).astype(x.dtype),)


# name -> (arity, forward(*inputs), backward(g, y, *inputs) -> grads)
ELEMENTWISE = {
    "add": (2, lambda x, w: x + w, lambda g, y, x, w: (g, g)),
    "mul": (2, lambda x, w: x * w, lambda g, y, x, w: (g * w, g * x)),
    "relu": (1, lambda x: np.maximum(x, 0), lambda g, y, x: (g * (x > 0),)),
    "exp": (1, np.exp, lambda g, y, x: (g * y,)),
    "tanh": (1, np.tanh, lambda g, y, x: (g * (1 - y * y),)),
    "sigmoid": (1, _sigmoid, lambda g, y, x: (g * y * (1 - y),)),
    "erf": (1, lambda x: _erf(x).astype(x.dtype), lambda g, y, x: (g * (2 / np.sqrt(np.pi)) * np.exp(-x * x),)),
    "gelu": (1, _gelu, _gelu_grad),
}


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax(x, dim):
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


# name -> (forward(x, dim), backward(g, y, x, dim) -> gx)
REDUCTIONS = {
    "sum": (lambda x, d: x.sum(axis=d), lambda g, y, x, d: np.broadcast_to(np.expand_dims(g, d), x.shape).copy()),
    "mean": (lambda x, d: x.mean(axis=d),
             lambda g, y, x, d: np.broadcast_to(np.expand_dims(g, d) / x.shape[d], x.shape).copy()),
    "softmax": (_softmax, lambda g, y, x, d: y * (g - (g * y).sum(axis=d, keepdims=True))),
    "log_softmax": (_log_softmax, lambda g, y, x, d: g - np.exp(y) * g.sum(axis=d, keepdims=True)),
}
