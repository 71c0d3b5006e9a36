"""Where a training step's time goes, op by op: our profiler over 10 steps of a benchmark model.

    python -m benchmarks.adhoc.profile_step [model=resnet8] [batch=32]
    CL=1 python -m benchmarks.adhoc.profile_step   # channels-last input images

``profile_step_torch`` is the same under ``torch.profiler`` (run it with PyTorch's interpreter).
"""

import os
import sys
import time

import numpy as np

import autograd_core as ag
import nn
import nn.functional as F
import optim
from autograd_core.profiler import profile
from benchmarks.models import MODELS, build_module


def main(model="resnet8", batch=32):
    spec = MODELS[model]
    ag.manual_seed(0)
    m = build_module(spec, nn)
    opt = optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((batch,) + tuple(spec["input"])).astype(np.float32))
    y = ag.tensor(rng.integers(0, spec["classes"], batch))
    if os.environ.get("CL"):
        x = x.contiguous(memory_format=ag.channels_last)

    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    ts = []
    for _ in range(15):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    ts.sort()
    print(f"step min {ts[0] * 1e3:.1f} med {ts[7] * 1e3:.1f} ms")
    with profile() as prof:
        for _ in range(10):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "resnet8", int(a[1]) if len(a) > 1 else 32)
