"""Wall time of whole training steps of a benchmark model (SGD with momentum): min and median.

    python -m benchmarks.adhoc.step_time [model=resnet8] [batch=32] [steps=20]

Prints one line; ``TAG`` from the environment is printed first (to label A/B runs).
"""

import os
import sys

import autograd_core as ag
import nn
import nn.functional as F
import optim

from . import sgd_step, timed


def main(model="resnet8", batch=32, steps=20):
    ag.manual_seed(0)
    s = timed(sgd_step(ag.tensor, nn, optim, F, model, batch), steps, warmup=5)
    print(f"{os.environ.get('TAG', '')} {model} b{batch}: min {s['min'] * 1e3:.2f} med {s['median'] * 1e3:.2f} ms")


if __name__ == "__main__":
    a = sys.argv[1:]
    main(a[0] if a else "resnet8", int(a[1]) if len(a) > 1 else 32, int(a[2]) if len(a) > 2 else 20)
