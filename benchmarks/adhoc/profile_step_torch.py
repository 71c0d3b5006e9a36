"""``profile_step`` for PyTorch: the same model and step under ``torch.profiler``, grouped by input shape.

    /path/to/torch/python -m benchmarks.adhoc.profile_step_torch [model=resnet8] [batch=32]
"""

import sys

import torch
import torch.nn.functional as F
from torch.profiler import profile

from . import sgd_step, timed


def main(model="resnet8", batch=32):
    torch.set_num_threads(2)
    torch.manual_seed(0)
    step = sgd_step(torch.tensor, torch.nn, torch.optim, F, model, batch)
    s = timed(step, 15, warmup=5)
    print(f"step min {s['min'] * 1e3:.1f} med {s['median'] * 1e3:.1f} ms")
    with profile(record_shapes=True) as prof:
        for _ in range(10):
            step()
    print(prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total", row_limit=40))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "resnet8", int(a[1]) if len(a) > 1 else 32)
