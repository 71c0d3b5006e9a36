"""Write your own op: a 1-D cross-correlation with a Numba kernel, checked three ways.

An op is a ``Function`` with two static methods:

- ``forward(ctx, x, w)`` gets ndarrays and may compute them any way it likes,
  here with a loop that Numba compiles to machine code;
- ``backward(ctx, grad)`` gets the gradient of the loss with respect to the
  output and returns one gradient per input, written with Tensor operations.

For ``y[i] = sum_j x[i + j] w[j]`` (what ``np.correlate(x, w, 'valid')`` computes):

    dL/dx = correlate1d(pad(grad, K - 1), w reversed)     (a "full" convolution)
    dL/dw = correlate1d(x, grad)

The backward uses the op itself, so it can be differentiated again: second
derivatives (``create_graph=True``) work. Then the op is checked:

1. against numpy's ``np.correlate``;
2. ``gradcheck`` / ``gradgradcheck``: first and second derivatives against
   finite differences, in float64; and how it reports a wrong backward;
3. ``autograd_core.testing.check_op``: Hypothesis draws lengths and values and
   runs all of the above on each (needs ``hypothesis``).

    python examples/custom_op.py [--examples 30] [--out runs/custom_op]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from numba import njit

import autograd_core as ag
from example_utils import no_matplotlib, output_dir, pyplot, save_figure, save_json


@njit(cache=True)   # compiled once per dtype, then loaded from the on-disk cache
def correlate1d_kernel(x, w, out):
    """out[i] = sum_j x[i + j] w[j], plain loops (Numba makes them fast)."""
    for i in range(out.shape[0]):
        acc = 0.0
        for j in range(w.shape[0]):
            acc += x[i + j] * w[j]
        out[i] = acc


class Correlate1d(ag.Function):
    """Valid 1-D cross-correlation of a signal ``x`` (L,) with a kernel ``w`` (K,), K <= L; output (L - K + 1,)."""

    @staticmethod
    def forward(ctx, x, w):
        if x.ndim != 1 or w.ndim != 1 or not 1 <= len(w) <= len(x):
            raise ag.ShapeError(f"correlate1d: expected x (L,) and w (K,) with 1 <= K <= L, "
                                f"got {x.shape} and {w.shape}")
        dtype = np.result_type(x, w)
        # contiguous arrays of one dtype: the kernel compiles for (float32, float32) and (float64, float64) only
        x, w = np.ascontiguousarray(x, dtype), np.ascontiguousarray(w, dtype)
        out = np.empty(len(x) - len(w) + 1, dtype)
        correlate1d_kernel(x, w, out)
        ctx.save_for_backward(x, w)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        gx = gw = None
        if ctx.needs_input_grad[0]:
            k = w.shape[0]
            gx = correlate1d(ag.pad(grad, (k - 1, k - 1)), w[::-1])
        if ctx.needs_input_grad[1]:
            gw = correlate1d(x, grad)
        return gx, gw


def correlate1d(x, w):
    return Correlate1d.apply(x, w)


def reference(x, w):
    return np.correlate(x, w, mode="valid")


class WrongCorrelate1d(Correlate1d):
    """The same op with a classic mistake: the kernel is not reversed in the input gradient."""

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        k = w.shape[0]
        return correlate1d(ag.pad(grad, (k - 1, k - 1)), w), correlate1d(x, grad)


def property_test(examples):
    """Hypothesis: random lengths L >= K and values; values, float32, gradcheck and gradgradcheck each time."""
    from hypothesis import strategies as st
    from autograd_core.testing import check_op
    lengths = st.integers(1, 12).flatmap(lambda n: st.tuples(st.just((n,)), st.integers(1, n).map(lambda k: (k,))))
    check_op(correlate1d, reference, 2, shapes=lengths, rtol=1e-10, max_examples=examples)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=30, help="Hypothesis examples for the property test (0: skip)")
    p.add_argument("--length", type=int, default=100_000, help="signal length for the timing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", "custom_op"))
    args = p.parse_args(argv)
    output_dir(args.out)
    rng = np.random.default_rng(args.seed)
    res = {}

    # 1. values
    x = ag.tensor(rng.standard_normal(20), requires_grad=True)   # float64
    w = ag.tensor(rng.standard_normal(5), requires_grad=True)
    y = correlate1d(x, w)
    res["max_abs_diff_vs_numpy"] = float(np.abs(y.detach().numpy() - reference(x.data, w.data)).max())
    print(f"1. correlate1d(x (20,), w (5,)) -> {y.shape}; largest difference from np.correlate: "
          f"{res['max_abs_diff_vs_numpy']:.1e}")

    # 2. derivatives against finite differences
    res["gradcheck"] = ag.gradcheck(correlate1d, (x, w))
    res["gradgradcheck"] = ag.gradgradcheck(correlate1d, (x, w))
    print(f"2. gradcheck: {res['gradcheck']}, gradgradcheck: {res['gradgradcheck']}")
    try:
        ag.gradcheck(WrongCorrelate1d.apply, (x, w))
        res["wrong_backward_caught"] = False
    except ag.GradcheckError as e:
        res["wrong_backward_caught"] = True
        print("   a backward that forgets to reverse the kernel is caught:\n   " +
              str(e).strip().splitlines()[0])

    # 3. property test
    if args.examples:
        try:
            import hypothesis  # noqa: F401
        except ImportError:
            print("3. property test skipped: hypothesis is not installed (pip install hypothesis)")
        else:
            t0 = time.perf_counter()
            property_test(args.examples)
            res["property_test_examples"] = args.examples
            print(f"3. property test: {args.examples} Hypothesis examples passed "
                  f"({time.perf_counter() - t0:.1f} s)")

    # speed: the compiled loop against numpy's correlate
    long_x, long_w = rng.standard_normal(args.length), rng.standard_normal(31)
    times = {}
    for name, fn in (("numba kernel", lambda: correlate1d(long_x, long_w)),
                     ("np.correlate", lambda: reference(long_x, long_w))):
        fn()
        t0 = time.perf_counter()
        for _ in range(5):
            fn()
        times[name] = (time.perf_counter() - t0) / 5
    print(f"speed, signal {args.length:,}, kernel 31: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in times.items()))
    res["seconds"] = times
    res["compiled_signatures"] = [str(s) for s in correlate1d_kernel.signatures]

    save_json(res, os.path.join(args.out, "custom_op.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        # what the op does: an edge detector [-1, 0, 1] on a noisy step finds the step
        t = np.linspace(0, 1, 200)
        signal = (t > 0.5) + 0.05 * rng.standard_normal(200)
        edges = correlate1d(signal, np.array([-1.0, 0.0, 1.0])).numpy()
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(t, signal, label="signal")
        ax.plot(t[1:-1], edges, label="correlate1d(signal, [-1, 0, 1])")
        ax.set(xlabel="t", title="A custom op: 1-D cross-correlation")
        ax.legend()
        save_figure(fig, os.path.join(args.out, "custom_op.png"))
    return res


if __name__ == "__main__":
    main()
