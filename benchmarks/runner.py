"""Worker processes: one per framework, each with its own interpreter and thread settings.

The CLI never imports a framework itself. Each framework runs in its own
process (``python -m benchmarks.worker``) so that thread pools (Numba's, BLAS's,
PyTorch's) never share a process; only one worker is busy at a time.

PyTorch may live in another interpreter (a separate venv): ``torch_python``
finds one, and ``Worker`` then runs a private copy of this package there (on a
``PYTHONPATH`` holding nothing else), because that interpreter has neither
``autograd_core`` nor this interpreter's site-packages.
"""

from __future__ import annotations

import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time

PKG_DIR = pathlib.Path(__file__).resolve().parent
ROOT = PKG_DIR.parent  # holds autograd_core/, nn/, optim/ in a checkout
TORCH_PYTHON_ENV = "AUTOGRAD_BENCH_TORCH_PYTHON"

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class SetupError(RuntimeError):
    """The run cannot start as asked (e.g. no interpreter with PyTorch); the message says what to do."""


def thread_env(framework, threads):
    """Environment variables that fix a framework's thread count (set before it imports numpy)."""
    n = str(threads)
    if framework == "ours":
        # autograd_core decides how its Numba and BLAS pools share the cores (its _threads module
        # gives BLAS one thread unless OPENBLAS_NUM_THREADS is set): fix the total, leave the rest.
        return {"NUMBA_NUM_THREADS": n, "OMP_NUM_THREADS": n}
    return {v: n for v in _THREAD_VARS}


def can_import(python, module):
    try:
        r = subprocess.run([python, "-c", f"import importlib.util, sys; "
                                          f"sys.exit(importlib.util.find_spec({module!r}) is None)"],
                           capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def torch_python(explicit=None):
    """The interpreter that runs PyTorch: --torch-python, else $AUTOGRAD_BENCH_TORCH_PYTHON, else this one."""
    if explicit:
        if not (shutil.which(explicit) or os.path.exists(explicit)):
            raise SetupError(f"--torch-python {explicit}: no such interpreter")
        if not can_import(explicit, "torch"):
            raise SetupError(f"--torch-python {explicit}: that interpreter cannot import torch")
        return explicit
    env = os.environ.get(TORCH_PYTHON_ENV)
    if env:
        if not can_import(env, "torch"):
            raise SetupError(f"${TORCH_PYTHON_ENV}={env}: that interpreter cannot import torch")
        return env
    if can_import(sys.executable, "torch"):
        return sys.executable
    raise SetupError(
        f"--compare torch: PyTorch is not importable by this interpreter ({sys.executable}). Pass "
        f"--torch-python /path/to/python (an interpreter with torch and numpy, e.g. a separate venv) "
        f"or set {TORCH_PYTHON_ENV}.")


def _staged_package():
    """A temporary directory holding only a copy of this package (for a foreign interpreter)."""
    tmp = tempfile.mkdtemp(prefix="autograd-bench-")
    shutil.copytree(PKG_DIR, os.path.join(tmp, PKG_DIR.name),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.md"))
    return tmp


def worker_env(framework, threads, python, extra=None):
    """(env, cwd, cleanup dir) for running ``python`` as a worker of ``framework``."""
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update(thread_env(framework, threads))
    env["PYTHONUNBUFFERED"] = "1"
    staged = None
    if os.path.realpath(python) == os.path.realpath(sys.executable) or framework != "torch":
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        cwd = str(ROOT)
    else:
        staged = _staged_package()
        env["PYTHONPATH"] = staged
        env.pop("PYTHONHOME", None)
        cwd = staged
    env.update(extra or {})
    return env, cwd, staged


def _cpu_jiffies(pid=None):
    """Busy clock ticks of the whole machine (pid None) or of one process, from /proc; None elsewhere."""
    try:
        if pid is None:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return sum(v) - v[3] - v[4]  # all but idle and iowait
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return int(v[11]) + int(v[12])  # utime + stime, all threads
    except (OSError, ValueError, IndexError):
        return None


class Worker:
    """A long-lived worker process for one framework, restarted if it dies."""

    def __init__(self, framework, python, threads, timeout=1800.0, extra_env=None):
        self.framework, self.python, self.threads, self.timeout = framework, python, threads, timeout
        self.extra_env = extra_env or {}
        self.proc = None
        self.info = None
        self.unavailable = None  # reason, when the framework cannot even start
        self._staged = None
        self._stderr = None

    def _start(self):
        if self._staged:
            shutil.rmtree(self._staged, ignore_errors=True)
        env, cwd, self._staged = worker_env(self.framework, self.threads, self.python, self.extra_env)
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [self.python, "-m", "benchmarks.worker", "--framework", self.framework, "--threads", str(self.threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env, cwd=cwd)
        hello = self._send({"cmd": "hello"})
        if hello.get("status") != "ok":
            self.unavailable = hello.get("error", "the worker did not start")
            self.close()
        else:
            self.info = hello["info"]

    def stderr_tail(self, lines=15):
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return "\n".join(self._stderr.read().splitlines()[-lines:])

    def _send(self, req):
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._died()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        if not ready:
            self.proc.kill()
            self.proc.wait()
            tail = self.stderr_tail()
            self.proc = None
            return {"status": "error", "error": f"timed out after {self.timeout:.0f} s", "stderr": tail}
        line = self.proc.stdout.readline()
        if not line:
            return self._died()
        return json.loads(line)

    def _died(self):
        code = self.proc.wait()
        tail = self.stderr_tail()
        self.proc = None
        return {"status": "error", "error": f"the {self.framework} worker died (exit code {code})", "stderr": tail}

    def request(self, req):
        if self.unavailable:
            return {"status": "unavailable", "reason": self.unavailable}
        if self.proc is None:
            self._start()
            if self.unavailable:
                return {"status": "unavailable", "reason": self.unavailable}
        if req.get("cmd") != "run":
            return self._send(req)
        # how much CPU other processes took while this case ran (contention inflates times)
        pid = self.proc.pid
        m0, p0, t0 = _cpu_jiffies(), _cpu_jiffies(pid), time.monotonic()
        res = self._send(req)
        m1, p1, t1 = _cpu_jiffies(), _cpu_jiffies(pid), time.monotonic()
        if None not in (m0, p0, m1, p1) and t1 > t0 and isinstance(res, dict):
            hz = os.sysconf("SC_CLK_TCK")
            res["others_cpu"] = max(0.0, ((m1 - m0) - (p1 - p0)) / hz / (t1 - t0))
        return res

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self._staged:
            shutil.rmtree(self._staged, ignore_errors=True)
            self._staged = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
