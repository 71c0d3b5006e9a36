"""Transfer learning: reuse convolutional features learnt on other classes when examples are few.

1. Train LeNet-5 on half of Fashion-MNIST's classes (T-shirt, trouser, pullover,
   dress, coat), with all their training images.
2. For the other half (sandal, shirt, sneaker, bag, ankle boot) take only a
   few images per class. Keep the trained convolutional layers frozen
   (``requires_grad_(False)``: no gradient is computed for them and the
   optimizer never sees them), replace the output layer with a new one for
   the new classes, and fine-tune the rest.
3. Train the same network from scratch on the same few images, for as many
   steps, and compare the test accuracy on the new classes.

Which few images are drawn matters as much as the method, so each comparison
is averaged over --repeats draws (each with its own new head and its own
initialisation for the network trained from scratch).

    python examples/transfer.py [--shots 1 3 10 30] [--repeats 3] [--epochs 10] [--out runs/transfer]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from example_utils import (CLASSES, PixelLeNet5, accuracy, fashion, fit, no_matplotlib, output_dir, pyplot,
                           save_figure, save_json)

SOURCE, TARGET = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


def few_shot(x, y, shots, seed):
    """``shots`` random training images of each class."""
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in np.unique(y)])
    return x[idx], y[idx]


def fine_tune(model, x, y, steps, lr):
    """Full-batch Adam on the parameters that require grad (the frozen ones are left out)."""
    opt = optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    xt, yt = ag.tensor(x), ag.tensor(y)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(xt), yt).backward()
        opt.step()
    return model.eval()


def transferred(pretrained):
    """A copy of ``pretrained`` with frozen convolutional layers and a new output layer."""
    model = PixelLeNet5(num_classes=len(SOURCE))
    model.load_state_dict(pretrained.state_dict())
    model.features.requires_grad_(False)
    model.classifier[-1] = nn.Linear(84, len(TARGET))   # the head: new weights for the new classes
    return model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shots", type=int, nargs="+", default=[1, 3, 10, 30], help="training images per new class")
    p.add_argument("--repeats", type=int, default=3, help="draws of the few images per comparison")
    p.add_argument("--epochs", type=int, default=10, help="epochs of step 1, on the first five classes")
    p.add_argument("--source-samples", type=int, default=None, help="use only N images in step 1 (default: all)")
    p.add_argument("--steps", type=int, default=100,
                   help="full-batch steps of fine-tuning and of training from scratch")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", "transfer"))
    args = p.parse_args(argv)
    output_dir(args.out)
    ag.manual_seed(args.seed)

    x, y, x_test, y_test = fashion(args.source_samples, classes=SOURCE)
    print(f"step 1: LeNet-5 on {', '.join(CLASSES[c] for c in SOURCE)} ({len(x)} images)")
    pretrained = PixelLeNet5(num_classes=len(SOURCE))
    fit(pretrained, x, y, args.epochs, name="source")
    source_acc = accuracy(pretrained, x_test, y_test)
    print(f"source test accuracy {source_acc:.3f}")

    x, y, x_test, y_test = fashion(classes=TARGET)
    y, y_test = y - TARGET[0], y_test - TARGET[0]   # labels 0..4 for the new head
    print(f"\nstep 2: {', '.join(CLASSES[c] for c in TARGET)}; test accuracy on their {len(x_test)} test images")
    print(f"  shots per class   transfer (frozen convs)   from scratch     (mean and spread of {args.repeats} draws)")
    rows = []
    for shots in args.shots:
        row = {"shots": shots, "transfer": [], "scratch": [], "frozen_layers_unchanged": True}
        for rep in range(args.repeats):
            seed = args.seed + rep
            xs, ys = few_shot(x, y, shots, seed)
            ag.manual_seed(seed)
            model = transferred(pretrained)
            frozen = {k: v.numpy().copy() for k, v in model.features.state_dict().items()}
            fine_tune(model, xs, ys, args.steps, args.lr)
            row["frozen_layers_unchanged"] &= all(np.array_equal(v.numpy(), frozen[k])
                                                  for k, v in model.features.state_dict().items())
            row["transfer"].append(accuracy(model, x_test, y_test))
            ag.manual_seed(seed)
            scratch = fine_tune(PixelLeNet5(num_classes=len(TARGET)), xs, ys, args.steps, args.lr)
            row["scratch"].append(accuracy(scratch, x_test, y_test))
        rows.append(row)
        t, s = np.array(row["transfer"]), np.array(row["scratch"])
        print(f"  {shots:15d}   {t.mean():14.3f} +- {t.std():.3f}   {s.mean():7.3f} +- {s.std():.3f}")

    save_json({"source_test_accuracy": source_acc, "results": rows}, os.path.join(args.out, "transfer.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        shots = [r["shots"] for r in rows]
        for key, style, label in (("transfer", "o-", "transfer (frozen convolutions)"),
                                  ("scratch", "s--", "from scratch")):
            ax.errorbar(shots, [np.mean(r[key]) for r in rows], [np.std(r[key]) for r in rows], fmt=style,
                        capsize=3, label=label)
        ax.set_xscale("log")
        ax.set_xticks(shots, [str(n) for n in shots])
        ax.set(xlabel="training images per class", ylabel="test accuracy (new classes)", ylim=(0, 1),
               title="Few-shot learning of five new classes")
        ax.grid(alpha=0.3)
        ax.legend()
        save_figure(fig, os.path.join(args.out, "transfer.png"))
    return {"source_test_accuracy": source_acc, "rows": rows, "pretrained": pretrained}


if __name__ == "__main__":
    main()
