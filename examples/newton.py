"""Newton's method against gradient descent on the notes' 2-2-2 network, with autograd_core.functional.

The network and its error E(w) are backprop_by_hand.py's: eight weights
w1..w8, fixed biases, squared error against targets 0.01 and 0.99. Gradient
descent (learning rate 0.5, as in the notes) takes a step along -dE/dw;
Newton's method takes the step H^-1 dE/dw, with H the 8x8 Hessian of E,
which ``autograd_core.functional.hessian`` computes by differentiating the
backward pass.

At the notes' starting point H has negative eigenvalues (the starting point
is near a saddle in some directions) and eigenvalues near zero (directions in
which E hardly changes: two outputs cannot pin down eight weights), so plain
Newton steps go uphill or far away. The script takes "saddle-free" Newton
steps instead (Dauphin et al., 2014): in H's eigenbasis each direction is
scaled by 1 / max(|lambda|, delta), with a backtracking line search. It
prints the error of both methods along the way, H's eigenvalues at the start
and at the end, and checks a Hessian-vector product against H v.

    python examples/newton.py [--gd-steps 10000] [--newton-steps 50] [--delta 1e-3] [--out runs/newton]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import autograd_core as ag
from autograd_core.functional import hessian, hvp
from backprop_by_hand import B1, B2, INPUTS, START, TARGETS
from example_utils import no_matplotlib, output_dir, pyplot, save_figure, save_json

X = ag.tensor(np.array([INPUTS]).T)    # a column, float64
T = ag.tensor(np.array([TARGETS]).T)
W0 = np.array(list(START.values()))    # w1..w8


def error(w):
    """E(w) for the eight weights as one vector: hidden = W1 @ x + b1, output = W2 @ hidden + b2."""
    hidden = (w[:4].reshape(2, 2) @ X + B1).sigmoid()
    out = (w[4:].reshape(2, 2) @ hidden + B2).sigmoid()
    return 0.5 * ((T - out) ** 2).sum()


def value_and_grad(w):
    t = ag.tensor(w, requires_grad=True)
    e = error(t)
    (g,) = ag.grad(e, t)
    return e.item(), g.numpy()


def gradient_descent(steps, lr, record):
    w = W0.copy()
    errors = {}
    for k in range(1, steps + 1):
        _, g = value_and_grad(w)
        w = w - lr * g
        if k in record:
            errors[k] = error(ag.tensor(w)).item()
    return w, errors


def saddle_free_newton(steps, delta, record):
    """Newton steps with |eigenvalues| floored at ``delta``, each with a backtracking line search."""
    w = W0.copy()
    errors = {}
    for k in range(1, steps + 1):
        e, g = value_and_grad(w)
        lam, V = np.linalg.eigh(hessian(error, ag.tensor(w)).numpy())
        step = V @ ((V.T @ g) / np.maximum(np.abs(lam), delta))
        a = 1.0
        while error(ag.tensor(w - a * step)).item() > e - 1e-4 * a * (g @ step) and a > 1e-8:
            a /= 2
        w = w - a * step
        if k in record:
            errors[k] = error(ag.tensor(w)).item()
    return w, errors


def checkpoints(n):
    return sorted({k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, n) if k <= n})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gd-steps", type=int, default=10000, help="gradient-descent steps (default 10000, the notes')")
    p.add_argument("--lr", type=float, default=0.5, help="gradient descent's learning rate (default 0.5)")
    p.add_argument("--newton-steps", type=int, default=50)
    p.add_argument("--delta", type=float, default=1e-3, help="floor on |eigenvalue| in Newton's steps")
    p.add_argument("--out", default=os.path.join("runs", "newton"))
    args = p.parse_args(argv)
    output_dir(args.out)

    H0 = hessian(error, ag.tensor(W0)).numpy()
    eig0 = np.linalg.eigvalsh(H0)
    print("Hessian of E at the notes' starting point: eigenvalues")
    print("  " + " ".join(f"{v:+.3e}" for v in eig0))
    v = np.arange(1.0, 9.0)
    _, hv = hvp(error, ag.tensor(W0), ag.tensor(v))
    gap = float(np.abs(hv.numpy() - H0 @ v).max())
    print(f"  Hessian-vector product hvp(E, w, v) against H @ v: largest difference {gap:.1e}")

    t0 = time.perf_counter()
    w_gd, gd = gradient_descent(args.gd_steps, args.lr, checkpoints(args.gd_steps))
    t_gd = time.perf_counter() - t0
    t0 = time.perf_counter()
    w_nt, nt = saddle_free_newton(args.newton_steps, args.delta, checkpoints(args.newton_steps))
    t_nt = time.perf_counter() - t0

    print(f"\n{'step':>6}  {'gradient descent':>17}  {'Newton (saddle-free)':>20}")
    e0 = error(ag.tensor(W0)).item()
    print(f"{0:>6}  {e0:17.10f}  {e0:20.10f}")
    for k in sorted(set(gd) | set(nt)):
        a = f"{gd[k]:17.10f}" if k in gd else " " * 17
        b = f"{nt[k]:20.10f}" if k in nt else ""
        print(f"{k:>6}  {a}  {b}")
    print(f"time: gradient descent {args.gd_steps:,} steps {t_gd:.1f} s; Newton {args.newton_steps} steps "
          f"{t_nt:.1f} s (each with an 8x8 Hessian)")
    eig_end = np.linalg.eigvalsh(hessian(error, ag.tensor(w_nt)).numpy())
    print("Hessian's eigenvalues where Newton stopped: " + " ".join(f"{x:+.3e}" for x in eig_end))

    res = {"eigenvalues_start": eig0, "hvp_gap": gap, "gd": {"lr": args.lr, "errors": gd, "weights": w_gd,
           "seconds": t_gd}, "newton": {"delta": args.delta, "errors": nt, "weights": w_nt, "seconds": t_nt,
                                        "eigenvalues_end": eig_end}}
    save_json({k: v for k, v in res.items()}, os.path.join(args.out, "newton.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, errs in (("gradient descent, lr %g" % args.lr, gd), ("Newton (saddle-free)", nt)):
            ks = [0] + sorted(errs)
            ax.loglog(np.array(ks) + 1, [e0] + [errs[k] for k in ks[1:]], "o-", ms=3, label=name)
        ax.set(xlabel="step + 1", ylabel="error E", title="The 2-2-2 network: Newton against gradient descent")
        ax.grid(alpha=0.3)
        ax.legend()
        save_figure(fig, os.path.join(args.out, "newton.png"))
    return res


if __name__ == "__main__":
    main()
