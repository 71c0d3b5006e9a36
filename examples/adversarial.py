"""Fooling LeNet-5 with the fast gradient sign method (Goodfellow, Shlens & Szegedy, 2015).

Training asks for the gradient of the loss with respect to the weights; ask
instead for its gradient with respect to the input pixels, and it says how to
change the image to make the network most wrong. FGSM takes one step of size
epsilon in the direction of that gradient's sign:

    x_adv = clip(x + epsilon * sign(d loss / d x), 0, 1)

Every pixel moves by at most epsilon (0.1 is a tenth of the black-to-white
range), and the accuracy collapses, while noise of the same size in random
directions barely matters. The script prints the test accuracy for each
epsilon, for FGSM and for random signs, and draws a few fooled images.

    python examples/adversarial.py                                  # trains a LeNet-5 briefly first
    python examples/adversarial.py --checkpoint runs/lenet5/checkpoint.npz   # train_lenet5.py's model
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autograd_core as ag
import nn.functional as F
from example_utils import (CLASSES, add_lenet5_args, fashion, lenet5, no_matplotlib, output_dir, pyplot,
                           save_figure, save_json)


def input_gradient(model, x, y):
    """d loss / d x for every image of the batch (the loss summed, so each image gets its own gradient)."""
    x = ag.tensor(x, requires_grad=True)
    F.cross_entropy(model(x), ag.tensor(y), reduction="sum").backward()
    return x.grad.numpy()


def predict(model, x):
    with ag.no_grad():
        return model(x).softmax(1).numpy()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_lenet5_args(p)
    p.add_argument("--samples", type=int, default=1000, help="test images to attack (default: all 1000)")
    p.add_argument("--epsilons", type=float, nargs="+", default=[0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3])
    p.add_argument("--out", default=os.path.join("runs", "adversarial"))
    args = p.parse_args(argv)
    output_dir(args.out)

    model = lenet5(args)
    model.requires_grad_(False)   # we differentiate with respect to the images only
    _, _, x, y = fashion(n_test=args.samples)
    grad_sign = np.sign(input_gradient(model, x, y))
    noise_sign = np.sign(np.random.default_rng(args.seed).standard_normal(x.shape)).astype(x.dtype)

    print(f"FGSM on {len(x)} test images: accuracy against epsilon (pixels in [0, 1])")
    print("  epsilon   FGSM    random signs")
    rows, fooled = [], {}
    for eps in args.epsilons:
        x_adv = np.clip(x + eps * grad_sign, 0, 1)
        probs = predict(model, x_adv)
        acc = float((probs.argmax(1) == y).mean())
        acc_noise = float((predict(model, np.clip(x + eps * noise_sign, 0, 1)).argmax(1) == y).mean())
        rows.append({"epsilon": eps, "accuracy": acc, "accuracy_random_signs": acc_noise})
        fooled[eps] = (x_adv, probs)
        print(f"  {eps:7.3f}  {acc:6.3f}  {acc_noise:6.3f}")

    save_json({"samples": len(x), "results": rows}, os.path.join(args.out, "adversarial.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
        return rows
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(args.epsilons, [r["accuracy"] for r in rows], "o-", label="FGSM")
    ax.plot(args.epsilons, [r["accuracy_random_signs"] for r in rows], "s--", label="random signs")
    ax.set(xlabel="epsilon", ylabel="test accuracy", title="LeNet-5 under attack", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, os.path.join(args.out, "accuracy.png"))

    # a few images the network got right and the attack turned wrong, at a middling epsilon
    eps = min(args.epsilons, key=lambda e: abs(e - 0.1))
    clean = predict(model, x)
    x_adv, probs = fooled[eps]
    picks = np.flatnonzero((clean.argmax(1) == y) & (probs.argmax(1) != y))[:4]
    if len(picks):
        fig, axes = plt.subplots(len(picks), 3, figsize=(7, 2.4 * len(picks)), squeeze=False)
        for row, i in enumerate(picks):
            c, a = clean[i].argmax(), probs[i].argmax()
            axes[row, 0].imshow(x[i, 0], cmap="gray", vmin=0, vmax=1)
            axes[row, 0].set_title(f"{CLASSES[c]} ({clean[i, c]:.0%})", fontsize=9)
            axes[row, 1].imshow(grad_sign[i, 0], cmap="RdBu_r", vmin=-1, vmax=1)
            axes[row, 1].set_title(f"+ {eps:g} x sign of the gradient", fontsize=9)
            axes[row, 2].imshow(x_adv[i, 0], cmap="gray", vmin=0, vmax=1)
            axes[row, 2].set_title(f"{CLASSES[a]} ({probs[i, a]:.0%})", fontsize=9)
        for axis in axes.ravel():
            axis.axis("off")
        save_figure(fig, os.path.join(args.out, "examples.png"))
    return rows


if __name__ == "__main__":
    main()
