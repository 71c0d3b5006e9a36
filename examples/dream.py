"""Dreaming up the image LeNet-5 finds most "sandal" (the notes' "inceptionism").

Instead of changing the weights to fit the images, change an image to fit
the network: start from noise and follow the gradient of one class's score
with respect to the pixels, uphill. A small L2 penalty keeps pixels that do
not help the score dark (Simonyan, Vedaldi & Zisserman, 2014):

    maximise  S_c(x) - lambda * ||x||^2,   pixels kept in [0, 1]

The network is not changed at all. Alone, the L2 prior gives speckled images
(the score gains from every pixel on its own); blurring the image every few
steps (the Gaussian blur of filters.py) keeps only what survives smoothing,
and shapes appear: two trouser legs, a sneaker's sole. The script dreams one
image per class (all ten optimised together, as one batch) with Adam, both
ways, prints each one's probability for its class before and after, and
draws them.

    python examples/dream.py                               # trains a LeNet-5 briefly first
    python examples/dream.py --checkpoint runs/lenet5/checkpoint.npz --steps 300 --l2 0.05
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autograd_core as ag
import optim
from example_utils import CLASSES, add_lenet5_args, lenet5, no_matplotlib, output_dir, pyplot, save_figure, save_json
from filters import KERNELS

GAUSSIAN = np.asarray(KERNELS["Gaussian blur"], dtype=np.float32)[None, None]   # (out, in, 3, 3)


def dream(model, classes, steps, lr, l2, blur_every=0, seed=0):
    """Images (len(classes), 1, 28, 28) that maximise each class's score, from noise around grey.

    ``blur_every``: blur the images every that many steps (0: never).
    """
    rng = np.random.default_rng(seed)
    x = ag.tensor(np.clip(0.5 + 0.1 * rng.standard_normal((len(classes), 1, 28, 28)), 0, 1).astype(np.float32),
                  requires_grad=True)
    opt = optim.Adam([x], lr=lr, maximize=True)   # gradient ascent
    rows = np.arange(len(classes))
    for step in range(steps):
        opt.zero_grad()
        score = model(x)[rows, classes]
        objective = score.sum() - l2 * (x * x).sum()
        objective.backward()
        opt.step()
        with ag.no_grad():
            if blur_every and step % blur_every == 0 and step < steps - 1:
                x.copy_(ag.conv2d(x, GAUSSIAN, padding=1))
            x.clamp_(0, 1)   # stay a valid image
    return x.detach().numpy()


def class_score_and_probability(model, x, classes):
    with ag.no_grad():
        scores = model(x)
        rows = np.arange(len(classes))
        return scores.numpy()[rows, classes], scores.softmax(1).numpy()[rows, classes]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_lenet5_args(p)
    p.add_argument("--steps", type=int, default=200, help="gradient-ascent steps")
    p.add_argument("--lr", type=float, default=0.02)
    p.add_argument("--l2", type=float, default=0.1,
                   help="weight of the L2 penalty on the pixels (against the scores: a less trained network, "
                        "with smaller scores, needs a smaller one)")
    p.add_argument("--blur-every", type=int, default=4, help="blur every N steps in the second run (0: no second run)")
    p.add_argument("--classes", type=int, nargs="+", default=list(range(10)))
    p.add_argument("--out", default=os.path.join("runs", "dream"))
    args = p.parse_args(argv)
    output_dir(args.out)

    model = lenet5(args)
    model.requires_grad_(False)
    classes = np.array(args.classes)
    score0, p0 = class_score_and_probability(model, dream(model, classes, 0, args.lr, args.l2, seed=args.seed), classes)
    runs = {"L2 only": 0}
    if args.blur_every:
        runs[f"L2 + blur every {args.blur_every} steps"] = args.blur_every

    results, images = {}, {}
    for name, every in runs.items():
        images[name] = dream(model, classes, args.steps, args.lr, args.l2, every, args.seed)
        score, prob = class_score_and_probability(model, images[name], classes)
        print(f"\n{name}: {args.steps} steps of gradient ascent, L2 weight {args.l2:g}")
        print("class         score S_c: from noise -> dreamed   p(class): from noise -> dreamed   mean pixel")
        rows = results[name] = []
        for k, c in enumerate(classes):
            rows.append({"class": CLASSES[c], "score_before": float(score0[k]), "score_after": float(score[k]),
                         "p_before": float(p0[k]), "p_after": float(prob[k]),
                         "mean_pixel": float(images[name][k].mean())})
            print(f"{CLASSES[c]:12s}  {score0[k]:18.1f} -> {score[k]:7.1f}   {p0[k]:19.3f} -> {prob[k]:7.3f}   "
                  f"{images[name][k].mean():10.3f}")

    save_json({"args": vars(args), "runs": results}, os.path.join(args.out, "dream.json"))
    np.savez(os.path.join(args.out, "dream.npz"), **images)
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, axes = plt.subplots(len(runs), len(classes), figsize=(1.8 * len(classes), 2.3 * len(runs)),
                                 squeeze=False)
        for row, name in enumerate(runs):
            for k, c in enumerate(classes):
                axes[row, k].imshow(images[name][k, 0], cmap="gray", vmin=0, vmax=1)
                p_after = results[name][k]["p_after"]
                axes[row, k].set_title(f"{CLASSES[c]}\np = {p_after:.2f}", fontsize=9)
                axes[row, k].axis("off")
            axes[row, 0].text(-3, 14, name, rotation=90, va="center", ha="right", fontsize=9)
        save_figure(fig, os.path.join(args.out, "dream.png"))
    return {"runs": results, "images": images}


if __name__ == "__main__":
    main()
