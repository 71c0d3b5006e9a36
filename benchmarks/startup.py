"""Startup cases, measured from fresh processes started by the CLI itself.

- ``import``: the time ``import autograd_core`` (``import torch``, ``import
  numpy``) takes inside a fresh interpreter, and whether it pulled in Numba.
- ``first_conv2d``: wall time from just before the process is spawned to the
  moment its first conv2d result is written to its stdout; the child also
  reports when its imports finished, so the total splits into interpreter start +
  imports and the first call (which loads or compiles the kernels). ``cold``
  gives every sample an empty temporary ``NUMBA_CACHE_DIR`` (so Numba compiles);
  ``warm`` fills one such directory with an untimed run first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time

from .runner import worker_env
from .timing import summarize

_IMPORT = {"ours": "autograd_core", "torch": "torch", "numpy": "numpy"}

_IMPORT_SCRIPT = """
import sys, time
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
print('{{"import_s": %r, "numba_imported": %s}}' % (t1 - t0, 'true' if 'numba' in sys.modules else 'false'))
"""

_CONV_SCRIPT = """
import json, sys, time
import numpy as np
{imports}
t_imported = time.time()
rng = np.random.default_rng(0)
x = rng.standard_normal({xshape}).astype(np.{dtype})
w = rng.standard_normal({wshape}).astype(np.{dtype})
y = {call}
sys.stdout.write(json.dumps({{"imported": t_imported, "done": time.time(), "shape": list(np.shape(y))}}) + "\\n")
sys.stdout.flush()
"""

_OURS_IMPORTS = """
import importlib
import autograd_core as ag
conv2d = None
for mod in ("nn.functional", "autograd_core", "autograd_core.ops.conv"):
    try:
        conv2d = getattr(importlib.import_module(mod), "conv2d", None)
    except ModuleNotFoundError:
        continue
    if conv2d is not None:
        break
if conv2d is None:
    sys.stderr.write("UNAVAILABLE: autograd_core has no conv2d yet\\n")
    sys.exit(3)
"""


def _conv_script(framework, case):
    p = case.p
    kw = f"stride={p['stride']}, padding={p['padding']}, dilation={p['dilation']}, groups={p['groups']}"
    N, C, H, W = p["shape"]
    K, R, S = p["kernel"]
    fill = dict(xshape=(N, C, H, W), wshape=(K, C // p["groups"], R, S), dtype=case.dtype)
    if framework == "ours":
        return _CONV_SCRIPT.format(imports=_OURS_IMPORTS, call=f"conv2d(ag.tensor(x), ag.tensor(w), None, {kw}).data",
                                   **fill)
    if framework == "torch":
        return _CONV_SCRIPT.format(imports="import torch\nimport torch.nn.functional as F",
                                   call=f"F.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, {kw}).numpy()",
                                   **fill)
    return _CONV_SCRIPT.format(imports="from benchmarks import reference as R",
                               call=f"R.conv2d(x, w, None, {p['stride']}, {p['padding']}, {p['dilation']}, "
                                    f"{p['groups']})", **fill)


def _spawn(python, script, env, cwd, timeout):
    t0 = time.time()
    p0 = time.perf_counter()
    proc = subprocess.Popen([python, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=cwd)
    line = proc.stdout.readline()
    wall = time.perf_counter() - p0
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode == 3 and "UNAVAILABLE:" in err:
        return None, err.split("UNAVAILABLE:", 1)[1].strip()
    if proc.returncode != 0 or not line.strip():
        tail = "\n".join(err.strip().splitlines()[-8:])
        raise RuntimeError(f"the child process failed (exit code {proc.returncode}): {tail}")
    out = json.loads(line)
    out["wall_s"] = wall
    out["spawned"] = t0
    return out, None


def measure_startup(case, framework, python, threads, repeats, noise_threshold=0.10, timeout=600):
    """Run ``repeats`` fresh processes (plus untimed warm-up) and summarise them like any other case."""
    temps = []

    def env_with_cache(cache_dir=None):
        extra = {"NUMBA_CACHE_DIR": cache_dir} if cache_dir else None
        env, cwd, staged = worker_env(framework, threads, python, extra)
        if staged:
            temps.append(staged)
        return env, cwd

    def fresh_cache():
        d = tempfile.mkdtemp(prefix="autograd-bench-numba-")
        temps.append(d)
        return d

    try:
        samples, extra = [], {}
        if case.kind == "import":
            script = _IMPORT_SCRIPT.format(module=_IMPORT[framework])
            env, cwd = env_with_cache()
            _spawn(python, script, env, cwd, timeout)  # warm the OS file cache and .pyc files
            numba_flags = []
            for _ in range(repeats):
                out, _ = _spawn(python, script, env, cwd, timeout)
                samples.append(out["import_s"])
                numba_flags.append(out["numba_imported"])
            extra["numba_imported"] = any(numba_flags)
        else:
            script = _conv_script(framework, case)
            cold = case.mode == "cold"
            warm_dir = None if cold else fresh_cache()
            if not cold:
                env, cwd = env_with_cache(warm_dir)
                out, why = _spawn(python, script, env, cwd, timeout)  # fills the cache
                if why:
                    return {"status": "unavailable", "reason": why}
            imports, firsts = [], []
            for _ in range(repeats):
                env, cwd = env_with_cache(fresh_cache() if cold else warm_dir)
                out, why = _spawn(python, script, env, cwd, timeout)
                if why:
                    return {"status": "unavailable", "reason": why}
                samples.append(out["wall_s"])
                imports.append(out["imported"] - out["spawned"])
                firsts.append(out["done"] - out["imported"])
            extra["start_and_imports_s"] = summarize(imports)["median"]
            extra["first_call_s"] = summarize(firsts)["median"]
        res = summarize(samples, noise_threshold)
        res.update({"status": "ok", "samples": samples, "number": 1, "first_call_s": None, "startup": extra})
        return res
    finally:
        for d in temps:
            shutil.rmtree(d, ignore_errors=True)
