"""What the example scripts share: output files, optional plots, the bundled images, a LeNet-5.

Not an example itself. The scripts import it as ``example_utils`` (they run from this
directory); LeNet-5 and its training loop come from ``train_lenet5.py``.
"""

from __future__ import annotations

import json
import os

import numpy as np

import autograd_core as ag
import optim
from autograd_core import data
from train_lenet5 import MEAN, STD, LeNet5, evaluate, train_epoch

CLASSES = data.FASHION_MNIST_CLASSES


# --------------------------------------------------------------------------- results

def output_dir(path):
    os.makedirs(path, exist_ok=True)
    return path


def save_json(obj, path):
    """Write ``obj`` (dicts, lists, numbers, numpy scalars and arrays) as indented JSON."""
    def plain(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"save_json: cannot write a {type(o).__name__}")
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, default=plain)
        f.write("\n")
    print(f"results: {path}")


def pyplot():
    """matplotlib.pyplot (drawing to files only), or None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    print(f"figure: {path}")


def no_matplotlib():
    print("figure skipped: matplotlib is not installed (pip install matplotlib)")


# --------------------------------------------------------------------------- data

def fashion(n_train=None, n_test=None, classes=None):
    """The bundled Fashion-MNIST sample as arrays: images (N, 1, 28, 28) in [0, 1], labels (N,).

    ``classes``: keep only these labels. ``n_train`` / ``n_test``: keep the first
    N images (the files interleave the classes, so any prefix is about balanced).
    Returns ``x_train, y_train, x_test, y_test``.
    """
    out = []
    for ds, n in zip(data.fashion_mnist_small(), (n_train, n_test)):
        x, y = (t.data for t in ds[:])
        if classes is not None:
            keep = np.isin(y, classes)
            x, y = x[keep], y[keep]
        out += [x[:n], y[:n]]
    return out


# --------------------------------------------------------------------------- LeNet-5

class PixelLeNet5(LeNet5):
    """LeNet-5 that takes images in [0, 1] and normalises them itself.

    Attacks, saliency maps and dreams then work in pixel space, where a change
    of 0.1 means a tenth of the range of a pixel. Its parameters are LeNet5's,
    so a checkpoint written by ``train_lenet5.py`` loads into it.
    """

    def forward(self, x):
        return super().forward((x - MEAN) / STD)


def accuracy(model, x, y, batch_size=500):
    return evaluate(model, data.DataLoader(data.TensorDataset(x, y), batch_size=batch_size))[1]


def fit(model, x, y, epochs, lr=1e-3, batch_size=64, params=None, name="train"):
    """Train with Adam and cross-entropy, one line per epoch; returns the last epoch's training loss."""
    opt = optim.Adam(model.parameters() if params is None else params, lr=lr)
    loader = data.DataLoader(data.TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    model.train()
    loss = float("nan")
    for epoch in range(epochs):
        loss, acc, speed = train_epoch(model, opt, loader, f"{name} epoch {epoch + 1}", progress=False)
        print(f"{name} epoch {epoch + 1}/{epochs}  loss {loss:.4f}  train acc {acc:.3f}  ({speed:.0f} img/s)")
    model.eval()
    return loss


def add_lenet5_args(p, samples=5000, epochs=3):
    p.add_argument("--checkpoint", metavar="PATH",
                   help="a checkpoint.npz written by train_lenet5.py (default: train a LeNet-5 here first)")
    p.add_argument("--train-samples", type=int, default=samples,
                   help=f"without --checkpoint: training images (default {samples})")
    p.add_argument("--epochs", type=int, default=epochs,
                   help=f"without --checkpoint: training epochs (default {epochs})")
    p.add_argument("--seed", type=int, default=0)


def lenet5(args):
    """A trained ``PixelLeNet5`` in eval mode: loaded from ``args.checkpoint`` or trained briefly."""
    ag.manual_seed(args.seed)
    model = PixelLeNet5()
    if args.checkpoint:
        from nn import load
        model.load_state_dict(load(args.checkpoint)["model"])
        print(f"LeNet-5 loaded from {args.checkpoint}")
    else:
        x, y, _, _ = fashion(args.train_samples)
        print(f"training LeNet-5 on {len(x)} images for {args.epochs} epochs "
              "(pass --checkpoint runs/lenet5/checkpoint.npz to use train_lenet5.py's model)")
        fit(model, x, y, args.epochs, lr=2e-3, batch_size=32, name="LeNet-5")
    return model.eval()
