"""autograd_core keeps freed array memory (glibc malloc tuning): no page faults per new array.

Measured by the process's minor page faults (getrusage), which count exactly the
pages the kernel had to map in: a freshly mapped 1.2 MB array costs ~300.
"""

import os
import subprocess
import sys

import pytest

CODE = r"""
import resource
import autograd_core as ag, numpy as np
rng = np.random.default_rng(0)
x = ag.tensor(rng.standard_normal((64, 6, 28, 28)).astype(np.float32), requires_grad=True)
g = ag.tensor(rng.standard_normal((64, 6, 28, 28)).astype(np.float32))


def step():  # the training pattern: a graph's 1.2 MB activations made, then freed together by backward
    x.grad = None
    y = x
    for _ in range(4):  # numpy ops only: Numba's import would move glibc's thresholds by itself
        y = (y * 0.5).tanh()
    y.backward(g)


for _ in range(5):  # warm up: the heap grows once
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(env_extra)
    r = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning is Linux-only")
def test_repeated_large_allocations_do_not_page_fault():
    tuned = _faults({})
    untuned = _faults({"AUTOGRAD_CORE_MALLOC": "0"})
    # untuned, glibc maps most of each step's arrays afresh (~300 pages per 1.2 MB array)
    assert untuned > 20 * 300, untuned
    assert tuned < 20 * 10, tuned
