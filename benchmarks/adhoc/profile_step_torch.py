"""``profile_step`` for PyTorch: the same model and step under ``torch.profiler``, grouped by input shape.

    /path/to/torch/python -m benchmarks.adhoc.profile_step_torch [model=resnet8] [batch=32]
"""

import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.profiler import profile

from benchmarks.models import MODELS, build_module


def main(model="resnet8", batch=32):
    torch.set_num_threads(2)
    spec = MODELS[model]
    torch.manual_seed(0)
    m = build_module(spec, torch.nn)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((batch,) + tuple(spec["input"])).astype(np.float32))
    y = torch.tensor(rng.integers(0, spec["classes"], batch))

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
    with profile(record_shapes=True) as prof:
        for _ in range(10):
            step()
    print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=40))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "resnet8", int(a[1]) if len(a) > 1 else 32)
