"""The kernel-route tables of ops/conv.py and ops/pool.py: every route is reachable, logged, and named in ROUTES."""

import os
import subprocess
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn.functional as F
from autograd_core import _threads
from autograd_core.ops import conv as conv_ops, log_routes, pool as pool_ops


def _nchw(shape, seed=0):
    return ag.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), requires_grad=True)


def _channels_last(shape, seed=0):
    n, c, h, w = shape
    a = np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(np.float32)
    return ag.tensor(a, requires_grad=True).permute(0, 3, 1, 2)


@pytest.mark.parametrize("make_x, C, stride, route", [
    (_nchw, 3, 1, "planar_s1"),
    (_nchw, 3, 2, "planar"),
    (_nchw, 32, 1, "nhwc"),            # too many channels for the planar kernels
    (_channels_last, 3, 1, "nhwc"),    # channels-last memory always takes the GEMM route
])
def test_conv_routes_are_logged_and_listed(make_x, C, stride, route):
    x = make_x((2, C, 9, 9))
    w = _nchw((4, C, 3, 3), seed=1)
    with log_routes() as taken:
        y = F.conv2d(x, w, stride=stride)
        y.backward(y.detach() * 0.0 + 1.0)  # a gradient in y's memory layout (numpy keeps it)
    assert {r.route for r in taken} == {route}
    ops = {r.op for r in taken}
    assert "conv2d forward" in ops
    # both gradients: one fused pass on the stride-1 planar route, two maps otherwise
    assert ops - {"conv2d forward"} == ({"conv2d both grads"} if route == "planar_s1"
                                        else {"conv2d input grad", "conv2d weight grad"})
    assert all(r.route in conv_ops.ROUTES for r in taken)
    assert taken[0].shapes == (tuple(x.shape), tuple(w.shape))


@pytest.mark.parametrize("C, Co, groups, routes", [(16, 16, 1, ("winograd",) * 3),
                                                   (32, 32, 2, ("direct",) * 3), (8, 8, 8, ("depthwise",) * 3)])
def test_direct_winograd_and_depthwise_conv_routes_are_logged_and_listed(C, Co, groups, routes):
    x = _nchw((8, C, 24, 24))  # large enough for the direct route (small convs stay on GEMM)
    w = _nchw((Co, C // groups, 3, 3), seed=1)
    with log_routes() as taken:
        F.conv2d(x, w, padding=1, groups=groups).sum().backward()
    assert [(r.op, r.route) for r in taken] == list(zip(("conv2d forward", "conv2d input grad", "conv2d weight grad"),
                                                        routes))
    assert set(routes) <= set(conv_ops.ROUTES)


@pytest.mark.parametrize("C, k, s, route", [(8, 2, 2, "planar_2x2"), (8, 3, 2, "planar"), (32, 3, 2, "nhwc")])
def test_max_pool_routes(C, k, s, route):
    x = _nchw((2, C, 10, 10))
    with log_routes() as taken:
        F.max_pool2d(x, k, s).sum().backward()
    fwd = [r for r in taken if r.op == "max_pool2d forward"]
    assert [r.route for r in fwd] == [route]
    bwd = [r for r in taken if r.op == "max_pool2d backward"]
    assert [r.route for r in bwd] == ["nhwc" if route == "nhwc" else "planar"]
    assert all(r.route in pool_ops.ROUTES for r in taken)


def test_small_kernels_run_serial_and_large_ones_parallel():
    """The one dispatch rule: serial below about 50 us of single-thread work, whatever the family."""
    small = _nchw((1, 1, 8, 8))
    with log_routes() as taken:
        F.max_pool2d(small, 2)
    assert taken[0].serial
    assert _threads.small(elements=1000) and not _threads.small(elements=10**6)
    assert _threads.small(flops=10**5) and not _threads.small(flops=10**8)
    big = _nchw((16, 16, 64, 64))
    with log_routes() as taken:
        F.max_pool2d(big, 2)
    assert not taken[0].serial or _threads.num_threads() == 1


def test_nothing_is_recorded_outside_the_block():
    x = _nchw((1, 2, 6, 6))
    with log_routes() as taken:
        pass
    F.conv2d(x, _nchw((2, 2, 3, 3)))
    assert taken == []


def test_environment_switch_prints_each_route():
    code = ("import autograd_core as ag, nn.functional as F\n"
            "F.conv2d(ag.randn(1, 2, 6, 6), ag.randn(3, 2, 3, 3))\n")
    env = dict(os.environ, AUTOGRAD_CORE_LOG_ROUTES="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert "autograd_core route: conv2d forward: planar_s1" in out.stderr
