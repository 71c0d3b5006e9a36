"""Backpropagation by hand, then by autograd: the notes' two-two-two sigmoid network.

    h1 = sigmoid(w1 i1 + w2 i2 + b1)        o1 = sigmoid(w5 h1 + w6 h2 + b2)
    h2 = sigmoid(w3 i1 + w4 i2 + b1)        o2 = sigmoid(w7 h1 + w8 h2 + b2)
    E  = 1/2 (t1 - o1)^2 + 1/2 (t2 - o2)^2

Inputs i = (0.05, 0.10), targets t = (0.01, 0.99), weights w1..w8 = 0.15, 0.20,
0.25, 0.30, 0.40, 0.45, 0.50, 0.55, biases b1 = 0.35 and b2 = 0.60 (held
fixed), plain gradient descent with learning rate 0.5 (the numbers follow Matt
Mazur's "A Step by Step Backpropagation Example", 2015).

The script computes every dE/dw with the chain rule written out one factor at
a time, next to the gradient that autograd finds, takes one step and prints
the weights, then trains for --steps steps. It prints the notes' numbers
beside its own. Where they differ (the error after one step, the outputs
after 10,000 steps), the notes' numbers are what you get when the hidden
layer's error is sent back through output weights that were already updated
(the notes' text says to use the old ones); --notes-order does that.

    python examples/backprop_by_hand.py [--steps 10000] [--out runs/backprop]
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np

import autograd_core as ag
import optim
from example_utils import no_matplotlib, output_dir, pyplot, save_figure, save_json

INPUTS = (0.05, 0.10)
TARGETS = (0.01, 0.99)
B1, B2 = 0.35, 0.60
START = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55}
NAMES = list(START)

# what the notes quote, to the digits they quote
NOTES = {
    "out_h1": 0.593269992, "out_h2": 0.596884378, "out_o1": 0.75136507, "out_o2": 0.772928465,
    "total_error": 0.298371109,
    "grad": {"w5": 0.082167041, "w1": 0.000438568},
    "after_one_step": {"w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229,
                       "w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121},
    "error_after_one_step": 0.291027924,
    "error_after_10000": 0.0000351085,
    "outputs_after_10000": (0.015912196, 0.984065734),
}


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


# --------------------------------------------------------------------------- by hand

def by_hand(w, back=None):
    """Forward pass and dE/dw for the eight weights, on plain floats, one chain-rule factor at a time.

    ``back``: the output weights through which the hidden neurons' error is
    sent back (default: ``w``'s own, as the chain rule says).
    Returns ``(values, grads)``: the forward pass's numbers and the gradients.
    """
    back = back or w
    (i1, i2), (t1, t2) = INPUTS, TARGETS
    out_h1 = sigmoid(w["w1"] * i1 + w["w2"] * i2 + B1)
    out_h2 = sigmoid(w["w3"] * i1 + w["w4"] * i2 + B1)
    out_o1 = sigmoid(w["w5"] * out_h1 + w["w6"] * out_h2 + B2)
    out_o2 = sigmoid(w["w7"] * out_h1 + w["w8"] * out_h2 + B2)
    error = 0.5 * (t1 - out_o1) ** 2 + 0.5 * (t2 - out_o2) ** 2

    # output layer: dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5
    #                      = -(t1 - out_o1) * out_o1 (1 - out_o1) * out_h1
    delta_o1 = -(t1 - out_o1) * out_o1 * (1 - out_o1)   # dE/dnet_o1
    delta_o2 = -(t2 - out_o2) * out_o2 * (1 - out_o2)   # dE/dnet_o2
    g = {"w5": delta_o1 * out_h1, "w6": delta_o1 * out_h2,
         "w7": delta_o2 * out_h1, "w8": delta_o2 * out_h2}

    # hidden layer: h1 feeds both outputs, so dE/dout_h1 sums the two paths
    #   dE/dout_h1 = dE/dnet_o1 * w5 + dE/dnet_o2 * w7
    delta_h1 = (delta_o1 * back["w5"] + delta_o2 * back["w7"]) * out_h1 * (1 - out_h1)   # dE/dnet_h1
    delta_h2 = (delta_o1 * back["w6"] + delta_o2 * back["w8"]) * out_h2 * (1 - out_h2)   # dE/dnet_h2
    g.update(w1=delta_h1 * i1, w2=delta_h1 * i2, w3=delta_h2 * i1, w4=delta_h2 * i2)
    values = {"out_h1": out_h1, "out_h2": out_h2, "out_o1": out_o1, "out_o2": out_o2, "total_error": error}
    return values, {k: g[k] for k in NAMES}


def notes_order_step(w, lr):
    """One step as the notes' numbers were computed: w5..w8 first, then w1..w4 through the new w5..w8."""
    _, g = by_hand(w)
    new = {k: w[k] - lr * g[k] for k in ("w5", "w6", "w7", "w8")}
    _, g = by_hand(w, back={**w, **new})
    return {k: w[k] - lr * g[k] for k in NAMES}


# --------------------------------------------------------------------------- by autograd

def matrices(w):
    """The weights as the layers' matrices: hidden = W1 @ inputs + b1, output = W2 @ hidden + b2."""
    w1 = ag.tensor(np.array([[w["w1"], w["w2"]], [w["w3"], w["w4"]]]), requires_grad=True)
    w2 = ag.tensor(np.array([[w["w5"], w["w6"]], [w["w7"], w["w8"]]]), requires_grad=True)
    return w1, w2


def unpack(w1, w2):
    """Matrices (or their gradients) back to the notes' names w1..w8."""
    return dict(zip(NAMES, np.concatenate([w1.detach().numpy().ravel(), w2.detach().numpy().ravel()]).tolist()))


X = ag.tensor(np.array([INPUTS]).T)    # a column, float64
T = ag.tensor(np.array([TARGETS]).T)


def forward(w1, w2):
    hidden = (w1 @ X + B1).sigmoid()
    out = (w2 @ hidden + B2).sigmoid()
    return 0.5 * ((T - out) ** 2).sum(), out


def train(steps, lr, w=START):
    """Gradient descent with autograd and optim.SGD.

    Returns the error of every forward pass (``errors[k]``: after k updates,
    ``k = 0..steps``), the final weights and outputs.
    """
    w1, w2 = matrices(w)
    opt = optim.SGD([w1, w2], lr=lr)
    errors = []
    for _ in range(steps):
        opt.zero_grad()
        error, _ = forward(w1, w2)
        error.backward()
        opt.step()
        errors.append(error.item())
    with ag.no_grad():
        error, out = forward(w1, w2)
    errors.append(error.item())
    return errors, unpack(w1, w2), out.numpy().ravel().tolist()


# --------------------------------------------------------------------------- the script

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10000, help="gradient-descent steps (default 10000, as in the notes)")
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--notes-order", action="store_true",
                   help="also train (by hand) the way the notes' numbers were computed")
    p.add_argument("--out", default=os.path.join("runs", "backprop"))
    args = p.parse_args(argv)
    output_dir(args.out)
    res = {}

    print("Forward pass                 ours          notes")
    values, hand = by_hand(START)
    for k, v in values.items():
        print(f"  {k:12s}  {v:16.9f}    {NOTES[k]}")
    res.update(values)

    print("\nGradients dE/dw     autograd        chain rule by hand   notes")
    w1, w2 = matrices(START)
    error, _ = forward(w1, w2)
    error.backward()
    auto = unpack(w1.grad, w2.grad)
    for k in NAMES:
        print(f"  {k}  {auto[k]:18.12f}  {hand[k]:18.12f}   {NOTES['grad'].get(k, '')}")
    gap = max(abs(auto[k] - hand[k]) for k in NAMES)
    print(f"  largest difference autograd - by hand: {gap:.1e}")
    res.update(grad_autograd=auto, grad_by_hand=hand)

    errors, after_one, _ = train(1, args.lr)
    print("\nWeights after one step  (w - lr * dE/dw)   notes")
    for k in NAMES:
        print(f"  {k}  {after_one[k]:.9f}   {NOTES['after_one_step'][k]}")
    print(f"Error after one step: {errors[1]:.9f}   (notes: {NOTES['error_after_one_step']})")
    res.update(weights_after_one_step=after_one, error_after_one_step=errors[1])

    errors, final, outputs = train(args.steps, args.lr)
    n = args.steps
    print(f"\nAfter {n:,} steps: error {errors[n]:.10f}, outputs {outputs[0]:.9f} {outputs[1]:.9f}")
    print(f"  error of forward pass {n:,} (after {n - 1:,} updates): {errors[n - 1]:.10f}")
    if n == 10000:
        print(f"  notes: error {NOTES['error_after_10000']:.10f}, outputs {NOTES['outputs_after_10000']}")
    res.update(steps=n, errors=errors, final_error=errors[n], final_outputs=outputs, final_weights=final)

    if args.notes_order:
        w = notes_order_step(START, args.lr)
        one = by_hand(w)[0]["total_error"]
        for _ in range(n - 1):
            w = notes_order_step(w, args.lr)
        v = by_hand(w)[0]
        print(f"\nNotes' order (hidden error sent back through the updated w5..w8): error after one step "
              f"{one:.9f}, after {n:,} steps {v['total_error']:.10f}, outputs {v['out_o1']:.9f} {v['out_o2']:.9f}")
        res["notes_order"] = {"error_after_one_step": one, "final_error": v["total_error"],
                              "final_outputs": [v["out_o1"], v["out_o2"]]}

    save_json(res, os.path.join(args.out, "backprop.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.semilogy(errors)
        ax.set(xlabel="gradient-descent step", ylabel="total error E", title="The 2-2-2 network learning")
        ax.grid(alpha=0.3)
        save_figure(fig, os.path.join(args.out, "error.png"))
    return res


if __name__ == "__main__":
    main()
