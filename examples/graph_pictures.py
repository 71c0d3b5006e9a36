"""Pictures of the graph autograd records: LeNet-5's training step and the notes' 2-2-2 network.

``autograd_core.viz.make_dot`` draws the backward graph of a tensor: one box
per node (the op that made a tensor, with the tensor's shape and dtype), the
parameters in blue, the output in green, arrows the way gradients flow.

1. LeNet-5 (train_lenet5.py's) on a batch of the bundled Fashion-MNIST sample,
   through cross-entropy: each layer's nodes in a box of their own
   (``record_modules``), to ``lenet5.png`` and ``lenet5.svg``.
2. The notes' 2-2-2 sigmoid network (backprop_by_hand.py) written with one
   scalar tensor per weight and per neuron, after ``backward()``: every named
   quantity shows its value and its gradient dE/d(quantity), as in micrograd's
   pictures, to ``network_222.png`` and ``.svg``. Read the chain rule off it:
   dE/dout_o1 = out_o1 - t1, dE/dnet_o1 = dE/dout_o1 * out_o1 (1 - out_o1), ...

The DOT sources (``*.dot``) are written in any case; the pictures need
Graphviz's ``dot`` program (apt-get install graphviz) and the graphviz
package (pip install "autograd-core[viz]").

    python examples/graph_pictures.py [--batch 8] [--out runs/graphs]
"""

from __future__ import annotations

import argparse
import os
import shutil

import numpy as np

import autograd_core as ag
import nn.functional as F
from autograd_core.viz import make_dot, record_modules
from backprop_by_hand import B1, B2, INPUTS, NAMES, START, TARGETS
from example_utils import MEAN, STD, fashion, output_dir, save_json
from train_lenet5 import LeNet5


def lenet5_graph(batch):
    """LeNet-5's loss on ``batch`` images; returns (model, loss)."""
    ag.manual_seed(0)
    model = LeNet5()
    x, y, _, _ = fashion(batch)
    with record_modules(model):
        loss = F.cross_entropy(model((x - MEAN) / STD), ag.tensor(y))
    return model, loss


def network_222():
    """The 2-2-2 network on scalars, after backward: ``{name: tensor}`` for every weight and neuron."""
    w = {k: ag.tensor(np.float64(v), requires_grad=True) for k, v in START.items()}
    (i1, i2), (t1, t2) = INPUTS, TARGETS
    q = dict(w)
    q["net_h1"] = w["w1"] * i1 + w["w2"] * i2 + B1
    q["net_h2"] = w["w3"] * i1 + w["w4"] * i2 + B1
    q["out_h1"], q["out_h2"] = q["net_h1"].sigmoid(), q["net_h2"].sigmoid()
    q["net_o1"] = w["w5"] * q["out_h1"] + w["w6"] * q["out_h2"] + B2
    q["net_o2"] = w["w7"] * q["out_h1"] + w["w8"] * q["out_h2"] + B2
    q["out_o1"], q["out_o2"] = q["net_o1"].sigmoid(), q["net_o2"].sigmoid()
    q["E_o1"] = 0.5 * (t1 - q["out_o1"]) ** 2
    q["E_o2"] = 0.5 * (t2 - q["out_o2"]) ** 2
    q["E"] = q["E_o1"] + q["E_o2"]
    for k, t in q.items():
        if k not in w:
            t.retain_grad()
    q["E"].backward()
    return q


def draw(dot, path, formats):
    """Write ``path.dot`` and, when Graphviz's dot exists, ``path.<format>`` for each format."""
    with open(path + ".dot", "w") as f:
        f.write(dot.source)
    files = [path + ".dot"]
    if shutil.which("dot") is None:
        print(f"{path}.dot written; pictures skipped: Graphviz's dot program is not installed "
              "(apt-get install graphviz)")
        return files
    for fmt in formats:
        files.append(dot.render(path, format=fmt, cleanup=True))
    print("pictures: " + ", ".join(files[1:]))
    return files


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=8, help="images in LeNet-5's batch (default 8)")
    p.add_argument("--formats", default="png,svg", help="picture formats (default png,svg)")
    p.add_argument("--show-saved", action="store_true", help="also draw what each LeNet-5 node saves for backward")
    p.add_argument("--out", default=os.path.join("runs", "graphs"))
    args = p.parse_args(argv)
    output_dir(args.out)
    formats = [f for f in args.formats.split(",") if f]

    model, loss = lenet5_graph(args.batch)
    dot = make_dot(loss, params=dict(model.named_parameters()), modules=model, show_saved=args.show_saved)
    n_nodes = dot.source.count("Backward")
    print(f"LeNet-5, batch {args.batch}: loss {loss.item():.4f}, {n_nodes} nodes")
    lenet_files = draw(dot, os.path.join(args.out, "lenet5"), formats)

    q = network_222()
    dot = make_dot(q["E"], params=q, show_values=True, graph_attr={"rankdir": "RL"})
    print(f"2-2-2 network: E = {q['E'].item():.9f}; dE/dw5 = {q['w5'].grad.item():.9f}, "
          f"dE/dw1 = {q['w1'].grad.item():.9f}")
    net_files = draw(dot, os.path.join(args.out, "network_222"), formats)
    res = {"lenet5": {"batch": args.batch, "loss": loss.item(), "nodes": n_nodes, "files": lenet_files},
           "network_222": {"values": {k: t.item() for k, t in q.items()},
                           "grads": {k: t.grad.item() for k, t in q.items()},
                           "files": net_files}}
    save_json(res, os.path.join(args.out, "graphs.json"))
    return res


if __name__ == "__main__":
    main()
