"""Small measuring scripts behind figures in ``benchmarks/RESULTS.md`` that the CLI does not cover.

Run from the repository root, each in its own process (``python -m benchmarks.adhoc.step_time``);
for an A/B between two checkouts, run the same module from each checkout's root, alternating.
Only numpy is imported here, so PyTorch's interpreter can use these helpers too.
"""

import time

import numpy as np

from ..models import LR, MODELS, MOMENTUM, build_module
from ..timing import summarize


def timed(fn, n, warmup=1):
    """``benchmarks.timing.summarize`` of ``n`` single calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return summarize(samples)


def sgd_step(tensor, nn, optim, F, model="resnet8", batch=32, prepare=None):
    """One training step of a benchmark model (SGD with momentum, cross-entropy) on a fixed random batch,
    in any framework with PyTorch's API: ``tensor`` its tensor constructor, ``nn``/``optim``/``F`` its
    namespaces; ``prepare`` may change the input batch (a memory layout, say)."""
    spec = MODELS[model]
    m = build_module(spec, nn)
    opt = optim.SGD(m.parameters(), lr=LR, momentum=MOMENTUM)
    rng = np.random.default_rng(0)
    x = tensor(rng.standard_normal((batch,) + tuple(spec["input"])).astype(np.float32))
    y = tensor(rng.integers(0, spec["classes"], batch))
    if prepare is not None:
        x = prepare(x)

    def step():
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    return step
