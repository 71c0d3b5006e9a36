"""Cold compile time of the whole kernel set: every conv route (all three maps, both memory layouts,
strides 1 and 2, groups, depthwise, direct, Winograd, a x2 upsampling; serial and parallel), pooling, ReLU and batch norm,
once per float type. The last field lists the conv routes that ran (each must appear).

    python -m benchmarks.compile_time            # an empty temporary Numba cache (cold)
    python -m benchmarks.compile_time --warm     # the usual cache (loads what is compiled)

Prints the seconds per float type and in total. Run it with the CPU to itself: it is a timing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import time
t0 = time.perf_counter()
import numpy as np
import autograd_core as ag
import nn.functional as F
from autograd_core.ops import log_routes

def cl(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

def conv(xs, ws, dtype, **kw):
    rng = np.random.default_rng(0)
    for layout in (lambda a: a, cl):
        x = ag.from_numpy(layout(rng.standard_normal(xs).astype(dtype))).requires_grad_()
        w = ag.tensor(rng.standard_normal(ws).astype(dtype), requires_grad=True)
        b = ag.tensor(rng.standard_normal(ws[0]).astype(dtype), requires_grad=True)
        y = ag.conv2d(x, w, b, **kw)
        y.backward(np.ones(y.shape, dtype))       # both gradients together
        y = ag.conv2d(x, w, b, **kw)
        ag.grad(y, [x], [np.ones(y.shape, dtype)])  # each alone
        y = ag.conv2d(x, w, b, **kw)
        ag.grad(y, [w], [np.ones(y.shape, dtype)])

times = {}
with log_routes() as taken:
    for dtype in (np.float32, np.float64):
        t = time.perf_counter()
        for s in (1, 2):
            conv((2, 3, 9, 9), (5, 3, 3, 3), dtype, stride=s, padding=1)            # planar / channels-last GEMM
            conv((2, 20, 9, 9), (6, 10, 3, 3), dtype, stride=s, padding=1, groups=2)
            conv((2, 16, 9, 9), (16, 16, 3, 3), dtype, stride=s, padding=1)         # the same, serial (small)
            conv((4, 16, 24, 24), (16, 16, 3, 3), dtype, stride=s, padding=1)       # direct (large enough)
            conv((2, 8, 9, 9), (8, 1, 3, 3), dtype, stride=s, padding=1, groups=8)  # depthwise
        rng = np.random.default_rng(0)
        for layout in (lambda a: a, cl):  # x2 upsampling (Winograd F(2x2, 2x2) in float32)
            x = ag.from_numpy(layout(rng.standard_normal((4, 16, 12, 12)).astype(dtype))).requires_grad_()
            w = ag.tensor(rng.standard_normal((16, 16, 4, 4)).astype(dtype), requires_grad=True)
            F.conv_transpose2d(x, w, None, 2, 1).sum().backward()
        for layout in (lambda a: a, cl):
            x = ag.from_numpy(layout(rng.standard_normal((2, 8, 64, 64)).astype(dtype))).requires_grad_()
            for f in (lambda v: F.max_pool2d(v, 2), lambda v: F.max_pool2d(v, 3, 2, 1), lambda v: F.avg_pool2d(v, 2),
                      lambda v: F.relu(v), lambda v: F.batch_norm(v, None, None, training=True)):
                f(x).sum().backward()
        times[np.dtype(dtype).name] = time.perf_counter() - t
routes = sorted({r.route + (" serial" if r.serial else "") for r in taken if r.op.startswith("conv")})
print(" ".join(f"{k}={v:.1f}" for k, v in times.items()), f"total={time.perf_counter() - t0:.1f}",
      "| conv routes:", ", ".join(routes))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", action="store_true", help="use the usual Numba cache instead of an empty one")
    args = ap.parse_args(argv)
    env = dict(os.environ)
    tmp = None
    if not args.warm:
        tmp = tempfile.TemporaryDirectory(prefix="autograd-compile-")
        env["NUMBA_CACHE_DIR"] = tmp.name
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode:
        sys.stderr.write(out.stderr)
        return out.returncode
    print(f"{'warm' if args.warm else 'cold'}: {out.stdout.strip()} (seconds; process wall time {wall:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
