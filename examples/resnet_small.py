"""A small residual network (He, Zhang, Ren & Sun, 2016) against the same network without skips.

The network: a 3x3 convolution, then three stages of residual blocks (the
second and third halve the image and double the channels), global average
pooling and one linear layer. A block computes

    out = relu(x + bn(conv(relu(bn(conv(x))))))        (with skips)
    out = relu(bn(conv(relu(bn(conv(x))))))            (without)

where the skip is a 1x1 convolution when the shape changes. With skips, the
gradient reaches every layer through the additions, and its size hardly
changes from the last convolution to the first; without, it is multiplied
by each layer's Jacobian on the way (with batch norm it grows towards the
input), so early and late layers learn at very different rates, and a deep
plain network trains more slowly. The script trains both on the bundled
Fashion-MNIST sample with the same seed, data order and optimizer, and
prints their training loss and test accuracy per epoch, and the size of the
gradient at each convolution at initialisation.

    python examples/resnet_small.py [--blocks 3] [--samples 2000] [--epochs 3] [--out runs/resnet]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from autograd_core import data
from example_utils import (MEAN, STD, accuracy, fashion, no_matplotlib, output_dir, pyplot, save_figure,
                           save_json)
from train_lenet5 import train_epoch


def conv_bn(cin, cout, kernel=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(cout))


class Block(nn.Module):
    """Two 3x3 convolutions with batch norm; with ``skip``, the input is added before the last ReLU."""

    def __init__(self, cin, cout, stride=1, skip=True):
        super().__init__()
        self.skip = skip
        self.conv1 = conv_bn(cin, cout, stride=stride)
        self.conv2 = conv_bn(cout, cout)
        if skip and (stride != 1 or cin != cout):
            self.shortcut = conv_bn(cin, cout, kernel=1, stride=stride)   # match the new shape
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.conv2(self.conv1(x).relu())
        if self.skip:
            out = out + self.shortcut(x)
        return out.relu()


class SmallResNet(nn.Module):
    """A stem, three stages of ``blocks`` blocks each, global average pooling, a linear classifier.

    ``6 * blocks + 2`` layers with weights along the main path (20 for ``blocks=3``).
    Takes images in [0, 1] and normalises them itself.
    """

    def __init__(self, num_classes=10, blocks=3, widths=(8, 16, 32), skip=True):
        super().__init__()
        layers = [conv_bn(1, widths[0]), nn.ReLU()]
        cin = widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(Block(cin, width, stride, skip))
                cin = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes))

    def forward(self, x):
        return self.head(self.features((x - MEAN) / STD))


def gradient_norms(model, x, y):
    """The gradient's norm at each main-path convolution's weight, first layer first, for one batch."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    norms = [float(np.linalg.norm(p.grad.numpy())) for name, p in model.named_parameters()
             if name.endswith(".weight") and p.ndim == 4 and "shortcut" not in name]
    model.zero_grad()
    return norms


def spread(norms):
    """Mean gradient norm of the first third of the layers over that of the last third (1: even)."""
    k = max(1, len(norms) // 3)
    return float(np.mean(norms[:k]) / np.mean(norms[-k:]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--blocks", type=int, default=3, help="residual blocks per stage (6 * blocks + 2 layers)")
    p.add_argument("--widths", type=int, nargs=3, default=[8, 16, 32], help="channels of the three stages")
    p.add_argument("--samples", type=int, default=2000, help="training images (default 2000 of 5000)")
    p.add_argument("--test-samples", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (momentum 0.9)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", "resnet"))
    args = p.parse_args(argv)
    output_dir(args.out)
    x, y, x_test, y_test = fashion(args.samples, args.test_samples)
    depth = 6 * args.blocks + 2
    print(f"{depth} layers, widths {args.widths}; {len(x)} training and {len(x_test)} test images")

    results = {}
    for name, skip in (("with skips", True), ("without skips", False)):
        ag.manual_seed(args.seed)   # same initial convolutions, same data order
        model = SmallResNet(blocks=args.blocks, widths=args.widths, skip=skip)
        n_params = sum(p.numel() for p in model.parameters())
        norms = gradient_norms(model, ag.tensor(x[:64]), ag.tensor(y[:64]))
        print(f"\n{name} ({n_params:,} parameters): at initialisation, the gradient at the first third "
              f"of the convolutions is {spread(norms):.1f} times that at the last third")
        opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
        loader = data.DataLoader(data.TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
        history = []
        for epoch in range(args.epochs):
            t0 = time.perf_counter()
            model.train()
            loss, acc, _ = train_epoch(model, opt, loader, name, progress=False)
            test_acc = accuracy(model, x_test, y_test)   # eval mode: batch norm's running statistics
            history.append({"loss": loss, "train_acc": acc, "test_acc": test_acc})
            print(f"  epoch {epoch + 1}/{args.epochs}  loss {loss:.4f}  train acc {acc:.3f}  "
                  f"test acc {test_acc:.3f}  ({time.perf_counter() - t0:.1f} s)")
        results[name] = {"parameters": n_params, "grad_norms_at_init": norms, "grad_spread": spread(norms),
                         "history": history}

    save_json({"args": vars(args), "depth": depth, "results": results}, os.path.join(args.out, "resnet.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        epochs = np.arange(1, args.epochs + 1)
        for (name, r), color in zip(results.items(), ("C0", "C1")):
            ax1.plot(epochs, [h["loss"] for h in r["history"]], "o-", color=color, label=f"{name}: training loss")
            ax1.plot(epochs, [1 - h["test_acc"] for h in r["history"]], "s--", color=color,
                     label=f"{name}: test error")
            norms = r["grad_norms_at_init"]
            ax2.semilogy(np.arange(1, len(norms) + 1), norms, "o-", color=color, label=name)
        ax1.set(xlabel="epoch", xticks=epochs, title=f"{depth} layers on Fashion-MNIST")
        ax2.set(xlabel="convolution (input side first)", ylabel="gradient norm", title="Gradient at initialisation")
        ax2.xaxis.get_major_locator().set_params(integer=True)
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        save_figure(fig, os.path.join(args.out, "resnet.png"))
    return results


if __name__ == "__main__":
    main()
