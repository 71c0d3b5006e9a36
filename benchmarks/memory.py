"""Memory that the graph keeps: ``python -m benchmarks.memory [dropped|kept-losses|kept-losses-cnn|all]``.

- ``dropped``: 40 graphs ``big.sigmoid().sum()`` on a 64 MB tensor, each dropped without
  backward; prints the peak resident memory. With a reference cycle between a node and its
  saved output, every graph waits for the garbage collector (2.9 GB before issue 11's fix).
- ``kept-losses``: LeNet-5 training at batch 64 with ``losses.append(loss)`` (500 steps);
  ``kept-losses-cnn``: a 32-channel CNN, 30 steps. Prints the resident-memory growth after the
  third step: a kept loss should keep the graph's structure, not its arrays.

Run each case in its own process (this module runs one per call of ``main``) so peaks do
not mix; Linux only (reads /proc/self/status).
"""

from __future__ import annotations

import resource
import subprocess
import sys

import numpy as np


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def dropped():
    import autograd_core as ag
    big = ag.randn(16 * 1024 * 1024, requires_grad=True)   # 64 MB of float32
    for _ in range(40):
        big.sigmoid().sum()
    return f"dropped graphs: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"


def kept_losses(cnn=False):
    import autograd_core as ag
    import nn
    import nn.functional as F
    import optim
    ag.manual_seed(0)
    if cnn:
        model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 8 * 8, 10))
        steps, shape, name = 30, (64, 3, 32, 32), "32-channel CNN"
    else:
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                              nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        steps, shape, name = 500, (64, 1, 28, 28), "LeNet-5"
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal(shape).astype(np.float32))
    y = ag.tensor(rng.integers(0, 10, shape[0]))
    losses = []
    start = None
    for i in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss)
        if i == 2:
            start = _rss_mb()
    end = _rss_mb()
    return (f"{name}, every loss kept: RSS {start:.0f} MB after step 3, {end:.0f} MB after step {steps} "
            f"(growth {end - start:.0f} MB)")


CASES = {"dropped": dropped, "kept-losses": kept_losses, "kept-losses-cnn": lambda: kept_losses(cnn=True)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    which = argv[0] if argv else "all"
    if which == "all":
        for name in CASES:
            r = subprocess.run([sys.executable, "-m", "benchmarks.memory", name], capture_output=True, text=True)
            print(r.stdout.strip() or r.stderr.strip())
        return 0
    if which not in CASES:
        print(f"usage: python -m benchmarks.memory [{'|'.join(CASES)}|all]", file=sys.stderr)
        return 2
    print(CASES[which]())
    return 0


if __name__ == "__main__":
    sys.exit(main())
