"""Why neural networks need non-linear activations: an MLP on XOR and on two spirals.

Neither problem can be solved by a straight line. The same three-layer MLP is
trained twice on each: once with ReLU between the layers, once with nothing
(the identity). With ReLU it separates the classes; without, however deep it
is, it is one affine map in disguise, W3 (W2 (W1 x + b1) + b2) + b3 = W x + b,
so it can only draw a straight boundary. The script checks that too: it
multiplies the trained linear network's layers out into a single W and b and
compares the outputs.

    python examples/mlp_xor_spiral.py [--problem both] [--steps 500] [--samples 500] [--out runs/mlp]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from example_utils import no_matplotlib, output_dir, pyplot, save_figure, save_json
from train_demo import spiral


def xor(n, rng):
    """Points in [-1, 1]^2, class 1 where exactly one coordinate is positive (a noisy XOR)."""
    x = rng.uniform(-1, 1, (n, 2))
    label = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    return x.astype(np.float32), label


PROBLEMS = {"xor": xor, "spiral": spiral}


def mlp(hidden, linear):
    act = nn.Identity if linear else nn.ReLU
    return nn.Sequential(nn.Linear(2, hidden), act(), nn.Linear(hidden, hidden), act(), nn.Linear(hidden, 2))


def accuracy(model, x, y):
    with ag.no_grad():
        return float((model(x).numpy().argmax(1) == y).mean())


def train(model, x, y, steps, lr):
    """Full-batch Adam on the cross-entropy."""
    opt = optim.Adam(model.parameters(), lr=lr)
    xt, yt = ag.tensor(x), ag.tensor(y)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    return loss.item()


def collapse(model):
    """The single affine map (W, b) that a network of Linear and Identity layers computes."""
    w, b = np.eye(2), np.zeros(2)
    for layer in model:
        if isinstance(layer, nn.Linear):   # y = x A^T + c, so x -> (x W + b) A^T + c
            a, c = layer.weight.detach().numpy(), layer.bias.detach().numpy()
            w, b = w @ a.T, b @ a.T + c
    return w, b


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--problem", choices=["xor", "spiral", "both"], default="both")
    p.add_argument("--samples", type=int, default=500, help="training points (as many again for testing)")
    p.add_argument("--steps", type=int, default=500, help="full-batch Adam steps")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", "mlp"))
    args = p.parse_args(argv)
    output_dir(args.out)
    problems = ["xor", "spiral"] if args.problem == "both" else [args.problem]

    results, models, sets = {}, {}, {}
    for name in problems:
        rng = np.random.default_rng(args.seed)
        x, y = PROBLEMS[name](args.samples, rng)
        x_test, y_test = PROBLEMS[name](args.samples, rng)
        sets[name] = (x, y)
        for kind in ("relu", "linear"):
            ag.manual_seed(args.seed)
            model = mlp(args.hidden, linear=kind == "linear")
            loss = train(model, x, y, args.steps, args.lr)
            r = {"loss": loss, "train_acc": accuracy(model, x, y), "test_acc": accuracy(model, x_test, y_test)}
            if kind == "linear":
                w, b = collapse(model)
                with ag.no_grad():
                    r["collapse_max_diff"] = float(np.abs(model(x_test).numpy() - (x_test @ w + b)).max())
            results[f"{name}/{kind}"], models[name, kind] = r, model
            extra = f"  (= one affine map: outputs differ by {r['collapse_max_diff']:.1e})" if kind == "linear" else ""
            print(f"{name:6s} {kind:6s}  loss {loss:.3f}  train acc {r['train_acc']:.3f}  "
                  f"test acc {r['test_acc']:.3f}{extra}")

    save_json({"args": vars(args), "results": results}, os.path.join(args.out, "mlp.json"))
    plt = pyplot()
    if plt is None:
        no_matplotlib()
    else:
        fig, axes = plt.subplots(len(problems), 2, figsize=(8, 4 * len(problems)), squeeze=False)
        grid = np.stack(np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-1.2, 1.2, 200)), -1)
        for row, name in enumerate(problems):
            x, y = sets[name]
            for col, kind in enumerate(("relu", "linear")):
                ax = axes[row, col]
                with ag.no_grad():
                    z = models[name, kind](grid.reshape(-1, 2).astype(np.float32)).numpy().argmax(1)
                ax.contourf(grid[..., 0], grid[..., 1], z.reshape(200, 200), levels=[-0.5, 0.5, 1.5],
                            colors=["#9ecae1", "#fdae6b"])
                ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=6)
                acc = results[f"{name}/{kind}"]["test_acc"]
                ax.set(title=f"{name}, {kind} activations: test acc {acc:.2f}", aspect="equal")
        save_figure(fig, os.path.join(args.out, "decision_boundaries.png"))
    return results


if __name__ == "__main__":
    main()
