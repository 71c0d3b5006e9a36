"""Where a training step's time goes, op by op: our profiler over 10 steps of a benchmark model.

    python -m benchmarks.adhoc.profile_step [model=resnet8] [batch=32]
    CL=1 python -m benchmarks.adhoc.profile_step   # channels-last input images

``profile_step_torch`` is the same under ``torch.profiler`` (run it with PyTorch's interpreter).
"""

import os
import sys

import autograd_core as ag
import nn
import nn.functional as F
import optim
from autograd_core.profiler import profile

from . import sgd_step, timed


def main(model="resnet8", batch=32):
    ag.manual_seed(0)
    cl = (lambda x: x.contiguous(memory_format=ag.channels_last)) if os.environ.get("CL") else None
    step = sgd_step(ag.tensor, nn, optim, F, model, batch, prepare=cl)
    s = timed(step, 15, warmup=5)
    print(f"step min {s['min'] * 1e3:.1f} med {s['median'] * 1e3:.1f} ms")
    with profile() as prof:
        for _ in range(10):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "resnet8", int(a[1]) if len(a) > 1 else 32)
