"""Activation checkpointing on ResNet-20: how much memory it saves and what it costs in time.

ResNet-20 is He, Zhang, Ren & Sun's (2016) network for 32x32 CIFAR images:
a 3x3 convolution with 16 channels, three stages of three residual blocks
(16, 32 and 64 channels; the second and third stages start with stride 2),
global average pooling and a linear layer: 6n + 2 = 20 layers with weights
for n = 3, 0.27M parameters. Its shortcuts are identities, subsampled and
padded with zero channels where the shape changes ("option A").

A training step normally keeps every block's activations from the forward
pass until the backward pass uses them. ``checkpoint_sequential(blocks, s,
x)`` cuts the nine blocks into ``s`` segments and keeps only each segment's
output; the backward pass runs each segment's forward again. The script
times training steps (zero_grad, forward, cross-entropy, backward, SGD step)
on random CIFAR-shaped batches with and without checkpointing, and measures
with ``tracemalloc`` (which numpy reports its arrays to) the bytes held
right after the forward pass and the peak over the step. Memory that Numba
kernels allocate themselves (per-thread packing buffers of about 1 MB) is
not seen.

    python examples/checkpointing.py [--batch 128] [--segments 0 3 9] [--steps 3] [--out runs/checkpointing]
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from autograd_core.utils.checkpoint import checkpoint_sequential
from example_utils import output_dir, save_json


class BasicBlock(nn.Module):
    """conv3x3-bn-relu-conv3x3-bn, plus the input (option A shortcut), then relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        short = x
        if self.stride != 1:
            short = short[:, :, ::self.stride, ::self.stride]
        if self.pad:
            short = ag.pad(short, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return (out + short).relu()


class ResNet20(nn.Module):
    def __init__(self, n=3, num_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for b in range(n):
                blocks.append(BasicBlock(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)
        self.segments = 0   # 0: no checkpointing

    def forward(self, x):
        h = self.bn(self.conv(x)).relu()
        if self.segments:
            h = checkpoint_sequential(self.blocks, self.segments, h)
        else:
            h = self.blocks(h)
        return self.fc(h.mean((2, 3)))


def step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def measure_memory(model, opt, x, y):
    """(bytes held after the forward pass, peak bytes over the step), above what was held before it."""
    opt.zero_grad()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        loss = F.cross_entropy(model(x), y)
        after_forward = tracemalloc.get_traced_memory()[0] - base
        loss.backward()
        opt.step()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return after_forward, peak


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--segments", type=int, nargs="+", default=[0, 3, 9],
                   help="checkpoint_sequential segments over the 9 blocks; 0 = no checkpointing (default 0 3 9)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per setting, after one warm-up step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("runs", "checkpointing"))
    args = p.parse_args(argv)
    output_dir(args.out)
    ag.manual_seed(args.seed)
    model = ResNet20()
    n_params = sum(q.numel() for q in model.parameters())
    opt = optim.SGD(model.parameters(), lr=0.0, momentum=0.9)   # lr 0: every step sees the same weights
    rng = np.random.default_rng(args.seed)
    x = ag.tensor(rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32))
    y = ag.tensor(rng.integers(0, 10, args.batch))
    print(f"ResNet-20 ({n_params:,} parameters), batch {args.batch} of 3x32x32, float32")

    rows, ref_grads = [], None
    for s in args.segments:
        model.segments = s
        ag.manual_seed(args.seed)
        step(model, opt, x, y)                                   # warm-up (and Numba's first calls)
        grads = [q.grad.numpy().copy() for q in model.parameters()]
        if ref_grads is None:
            ref_grads = grads
        gap = max(float(np.abs(a - b).max() / (np.abs(b).max() + 1e-30)) for a, b in zip(grads, ref_grads))
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step(model, opt, x, y)
            times.append(time.perf_counter() - t0)
        after_forward, peak = measure_memory(model, opt, x, y)
        row = {"segments": s, "step_seconds": float(np.median(times)), "after_forward_bytes": after_forward,
               "peak_bytes": peak, "max_rel_grad_diff": gap}
        rows.append(row)
        name = "no checkpointing" if s == 0 else f"{s} segments"
        print(f"{name:>17}: step {row['step_seconds'] * 1e3:7.0f} ms (median of {args.steps}), held after forward "
              f"{after_forward / 2**20:6.1f} MiB, peak {peak / 2**20:6.1f} MiB; gradients vs the first setting: "
              f"{gap:.1e}")
    base = rows[0]
    for r in rows[1:]:
        r["peak_saved"] = 1 - r["peak_bytes"] / base["peak_bytes"]
        r["time_cost"] = r["step_seconds"] / base["step_seconds"] - 1
        print(f"{r['segments']} segments against {base['segments']}: peak {100 * r['peak_saved']:.0f}% lower, "
              f"step {100 * r['time_cost']:+.0f}% time")
    save_json({"batch": args.batch, "parameters": n_params, "rows": rows},
              os.path.join(args.out, "checkpointing.json"))
    return rows


if __name__ == "__main__":
    main()
