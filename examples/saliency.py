"""Saliency maps: which pixels does LeNet-5's decision depend on? (Simonyan, Vedaldi & Zisserman, 2014)

The class score S_c(x) (the network's output for class c, before the softmax)
is a function of the pixels; its gradient dS_c/dx says how much a small change
of each pixel would change the score. Its magnitude, |dS_c/dx|, is the
saliency map: one backward pass, with the input instead of the weights as the
thing we differentiate with respect to.

For a few test images the script prints the predicted class and how the
saliency is spread: the share of it that falls on the garment (pixels that are
not black) against the share of the image the garment covers, and draws the
images next to their maps.

    python examples/saliency.py                     # trains a LeNet-5 briefly first
    python examples/saliency.py --checkpoint runs/lenet5/checkpoint.npz --images 10
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autograd_core as ag
from example_utils import (CLASSES, add_lenet5_args, fashion, lenet5, no_matplotlib, output_dir, pyplot,
                           save_figure, save_json)


def saliency(model, x, classes):
    """|d S_c / d x| for each image of ``x`` (N, 1, H, W) and its class ``classes[n]``; also the scores."""
    x = ag.tensor(x, requires_grad=True)
    scores = model(x)
    picked = scores[np.arange(len(classes)), classes]   # S_c for each image's own class
    picked.sum().backward()                             # images are independent: one backward for all
    return np.abs(x.grad.numpy()), picked.detach().numpy()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_lenet5_args(p)
    p.add_argument("--images", type=int, default=10, help="how many test images (one per class, in class order)")
    p.add_argument("--out", default=os.path.join("runs", "saliency"))
    args = p.parse_args(argv)
    output_dir(args.out)

    model = lenet5(args)
    model.requires_grad_(False)
    _, _, x_test, y_test = fashion()
    # the first test image of each class, then the second of each, ...
    idx = np.array([np.flatnonzero(y_test == c)[r] for r in range(args.images // 10 + 1) for c in range(10)])
    idx = idx[:args.images]
    x, y = x_test[idx], y_test[idx]
    with ag.no_grad():
        pred = model(x).numpy().argmax(1)
    sal, scores = saliency(model, x, pred)

    print("image  label        predicted    score  saliency on the garment / garment's area")
    rows = []
    for n in range(len(x)):
        garment = x[n, 0] > 0.05
        share = float(sal[n, 0][garment].sum() / sal[n, 0].sum())
        area = float(garment.mean())
        rows.append({"index": int(idx[n]), "label": CLASSES[y[n]], "predicted": CLASSES[pred[n]],
                     "score": float(scores[n]), "saliency_on_garment": share, "garment_area": area})
        print(f"{idx[n]:5d}  {CLASSES[y[n]]:11s}  {CLASSES[pred[n]]:11s}  {scores[n]:5.1f}  "
              f"{share:5.0%} / {area:4.0%}")

    save_json({"images": rows}, os.path.join(args.out, "saliency.json"))
    np.save(os.path.join(args.out, "saliency.npy"), sal)
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, axes = plt.subplots(2, len(x), figsize=(1.8 * len(x), 4), squeeze=False)
        for n in range(len(x)):
            axes[0, n].imshow(x[n, 0], cmap="gray", vmin=0, vmax=1)
            axes[0, n].set_title(f"{CLASSES[y[n]]}\n-> {CLASSES[pred[n]]}", fontsize=9)
            axes[1, n].imshow(sal[n, 0], cmap="hot")
        axes[1, 0].set_title("|dS/dx|", fontsize=9)
        for ax in axes.ravel():
            ax.axis("off")
        save_figure(fig, os.path.join(args.out, "saliency.png"))
    return {"rows": rows, "saliency": sal, "x": x, "predicted": pred, "model": model}


if __name__ == "__main__":
    main()
