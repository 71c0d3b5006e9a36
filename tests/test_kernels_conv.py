"""The conv kernels called directly on channels-last arrays, over the chunkings and
thread slots the ops choose between (uneven last chunk, more slots than chunks),
against an einsum over an explicitly padded input."""

import numpy as np
import pytest

from autograd_core.ops import conv as conv_mod


def _reference(x, w, stride, pad, dil):
    """NHWC forward and both gradients (for upstream ones) with numpy only."""
    N, H, W, C = x.shape
    Co, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    OH = (H + 2 * pad - dil * (KH - 1) - 1) // stride + 1
    OW = (W + 2 * pad - dil * (KW - 1) - 1) // stride + 1
    y = np.zeros((N, OH, OW, Co))
    dxp = np.zeros_like(xp)
    dw = np.zeros(w.shape)
    for i in range(KH):
        for j in range(KW):
            sl = (slice(None), slice(i * dil, i * dil + stride * (OH - 1) + 1, stride),
                  slice(j * dil, j * dil + stride * (OW - 1) + 1, stride))
            y += np.einsum("nhwc,oc->nhwo", xp[sl], w[:, :, i, j])
            dxp[sl] += np.broadcast_to(w[:, :, i, j].sum(0), xp[sl].shape)
            dw[:, :, i, j] += xp[sl].sum(axis=(0, 1, 2))[None, :]
    return y, dxp[:, pad:pad + H, pad:pad + W], dw


@pytest.mark.parametrize("chunk,slots", [(1, 1), (2, 2), (3, 2), (5, 4), (7, 3)])
def test_kernels_over_chunkings_and_slots(chunk, slots):
    K = conv_mod._K()
    rng = np.random.default_rng(chunk)
    x = rng.standard_normal((5, 6, 7, 3))
    w = rng.standard_normal((4, 3, 3, 2))
    stride, pad, dil = 2, 1, 1
    y_ref, dx_ref, dw_ref = _reference(x, w, stride, pad, dil)
    y = np.empty_like(y_ref)
    K.conv2d_forward(x, conv_mod._gemm_weight(w, 1), np.zeros(0), y, 3, 2, stride, stride, pad, pad, dil, dil, chunk,
                     slots)
    np.testing.assert_allclose(y, y_ref, atol=1e-12)
    gy = np.ones_like(y_ref)
    dx = np.full(x.shape, np.nan)  # the kernel must overwrite every element
    K.conv2d_backward_input(gy, conv_mod._gemm_weight_t(w, 1), dx, 3, 2, stride, stride, pad, pad, dil, dil,
                            chunk, slots)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-12)
    dwp = np.zeros((slots, 1, 3 * 2 * 3, 4))
    dbp = np.zeros((slots, 4))
    K.conv2d_backward_weight(x, gy, dwp, dbp, 3, 2, stride, stride, pad, pad, dil, dil, chunk)
    dw = dwp.sum(0).reshape(3, 2, 3, 4).transpose(3, 2, 0, 1)
    np.testing.assert_allclose(dw, dw_ref, atol=1e-12)
    np.testing.assert_allclose(dbp.sum(0), np.full(4, gy[..., 0].size), atol=1e-12)


def test_nchw_to_nhwc():
    x = np.random.default_rng(0).standard_normal((3, 5, 4, 7))
    out = np.empty((3, 4, 7, 5))
    conv_mod._K().nchw_to_nhwc(x, out)
    np.testing.assert_array_equal(out, x.transpose(0, 2, 3, 1))
