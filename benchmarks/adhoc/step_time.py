"""Wall time of whole training steps of a benchmark model (SGD with momentum): min and median.

    python -m benchmarks.adhoc.step_time [model=resnet8] [batch=32] [steps=20]

Prints one line; ``TAG`` from the environment is printed first (to label A/B runs).
"""

import os
import sys
import time

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from benchmarks.models import MODELS, build_module


def main(model="resnet8", batch=32, steps=20):
    spec = MODELS[model]
    ag.manual_seed(0)
    m = build_module(spec, nn)
    opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((batch,) + tuple(spec["input"])).astype(np.float32))
    y = ag.tensor(rng.integers(0, spec["classes"], batch))

    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    ts = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    ts.sort()
    print(f"{os.environ.get('TAG', '')} {model} b{batch}: min {ts[0] * 1e3:.2f} med {ts[len(ts) // 2] * 1e3:.2f} ms")


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "resnet8", int(a[1]) if len(a) > 1 else 32, int(a[2]) if len(a) > 2 else 20)
