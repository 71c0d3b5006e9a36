"""The benchmark CLI itself, end to end, on tiny cases (each run takes a second or two).

PyTorch is never needed: the ``--compare torch`` path is tested only when this
interpreter or ``$AUTOGRAD_BENCH_TORCH_PYTHON`` can import torch.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUICK = ["--quick", "--no-peak", "-q", "--settle", "0"]


def bench(*args, env=None, timeout=300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def _torch_python():
    for py in (sys.executable, os.environ.get("AUTOGRAD_BENCH_TORCH_PYTHON")):
        if py and subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    return None


def test_help_shows_examples():
    r = bench("--help")
    assert r.returncode == 0
    assert "examples:" in r.stdout and "--compare torch" in r.stdout and "--baseline" in r.stdout


def test_list_presets():
    for preset in ("goals", "lenet5", "resnet-cifar", "step", "tiny", "all"):
        r = bench("--preset", preset, "--list")
        assert r.returncode == 0, r.stderr
        assert len(r.stdout.splitlines()) >= 5
    r = bench("--list")  # the default preset holds every goal of the issues
    assert "LeNet C1" in r.stdout and "max_seconds" in r.stdout and "batch=256" in r.stdout


def test_run_writes_json_with_the_fields(tmp_path):
    out = tmp_path / "run.json"
    md = tmp_path / "run.md"
    r = bench("--op", "mul", "--shape", "4,5", "--compare", "numpy", "--json", str(out), "--markdown", str(md),
              *QUICK)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "elementwise.fwdbwd mul 4x5 float32" in r.stdout and "ours/numpy" in r.stdout
    run = json.loads(out.read_text())
    assert run["schema"] == "autograd-bench/1"
    for key in ("date", "command", "cpu", "cores", "threads", "python", "commit", "load_average_start"):
        assert key in run["header"]
    assert run["header"]["threads"] == 2
    assert set(run["frameworks"]) == {"ours", "numpy"}
    assert run["frameworks"]["ours"]["info"]["framework"] == "autograd_core"
    (entry,) = run["cases"]
    assert entry["id"] == "elementwise.fwdbwd mul 4x5 float32" and entry["bytes"] > 0
    for fw in ("ours", "numpy"):
        res = entry["results"][fw]
        assert res["status"] == "ok"
        for key in ("median", "q1", "q3", "iqr", "rel_iqr", "min", "mean", "repeats", "number", "first_call_s",
                    "max_rel_error", "gbs"):
            assert key in res, key
        assert len(res["samples"]) == res["repeats"] >= 3
        assert res["min"] <= res["median"]
    assert entry["ratios"]["numpy"] > 0
    assert run["summary"]["failed"] == 0
    assert "| case |" in md.read_text()


def test_correctness_failure_is_reported_and_not_timed(tmp_path):
    out = tmp_path / "run.json"
    r = bench("--op", "mul", "--shape", "4,5", "--json", str(out), *QUICK,
              env={"AUTOGRAD_BENCH_INJECT_FAULT": "mul 4x5"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED" in r.stdout and "wrong result" in r.stdout
    res = json.loads(out.read_text())["cases"][0]["results"]["ours"]
    assert res["status"] == "failed" and "max |got - reference|" in res["error"]
    assert "samples" not in res and "median" not in res


@pytest.mark.parametrize("args, message", [
    (["--op", "conv2d", "--shape", "1,2,3", "--kernel", "4,3,3"], "--shape must be N,C,H,W"),
    (["--op", "conv2d", "--shape", "1,3,4,4", "--kernel", "4,5,5"], "larger than the padded input"),
    (["--op", "conv2d", "--shape", "1,3,8,8", "--kernel", "4,3,3", "--groups", "2"], "groups=2 must divide"),
    (["--op", "conv2d", "--shape", "1,3,x,8", "--kernel", "4,3,3"], "comma-separated integers"),
    (["--op", "max_pool2d", "--shape", "1,3,8,8", "--kernel", "2", "--padding", "2"], "at most half the kernel"),
    (["--op", "conv2d", "--shape", "1,3,8,8", "--kernel", "4,3,3", "--stride", "0"], "--stride must be positive"),
    (["--op", "fft", "--shape", "8"], "unknown benchmark op 'fft'"),
    (["--shape", "1,3,8,8"], "say which op"),
    (["--op", "conv2d", "--shape", "1,3,8,8", "--kernel", "4,3,3", "--mode", "sideways"], "unknown mode"),
    (["--compare", "jax"], "unknown framework 'jax'"),
])
def test_bad_arguments_get_a_clear_error(args, message):
    r = bench(*args, "--list")
    assert r.returncode == 2
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_baseline_exits_nonzero_on_a_regression(tmp_path):
    out = tmp_path / "run.json"
    r = bench("--op", "relu", "--shape", "4,5", "--json", str(out), *QUICK)
    assert r.returncode == 0, r.stderr
    run = json.loads(out.read_text())
    faster_before = tmp_path / "fast.json"
    slower_before = tmp_path / "slow.json"
    for path, factor in ((faster_before, 0.1), (slower_before, 10.0)):
        data = json.loads(out.read_text())
        data["cases"][0]["results"]["ours"]["median"] *= factor
        path.write_text(json.dumps(data))
    r = bench("--op", "relu", "--shape", "4,5", "--baseline", str(faster_before), *QUICK)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "REGRESSION" in r.stdout
    r = bench("--op", "relu", "--shape", "4,5", "--baseline", str(slower_before), *QUICK)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "faster" in r.stdout
    assert run["cases"][0]["id"] in r.stdout


def test_baseline_must_be_a_benchmark_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    r = bench("--op", "relu", "--shape", "4", "--baseline", str(bad), *QUICK)
    assert r.returncode == 2 and "not a benchmark JSON file" in r.stderr


def test_compare_torch_without_torch_says_what_to_do():
    if _torch_python() == sys.executable:
        pytest.skip("this interpreter has torch")
    env = {"AUTOGRAD_BENCH_TORCH_PYTHON": ""}
    r = bench("--op", "relu", "--shape", "4", "--compare", "torch", *QUICK, env=env)
    assert r.returncode == 2
    assert "--torch-python" in r.stderr and "AUTOGRAD_BENCH_TORCH_PYTHON" in r.stderr
    r = bench("--op", "relu", "--shape", "4", "--compare", "torch", "--torch-python", sys.executable, *QUICK)
    assert r.returncode == 2 and "cannot import torch" in r.stderr


def test_compare_torch_side_by_side(tmp_path):
    py = _torch_python()
    if py is None:
        pytest.skip("no interpreter with torch (set AUTOGRAD_BENCH_TORCH_PYTHON to test this path)")
    out = tmp_path / "run.json"
    r = bench("--op", "mul", "--shape", "8,8", "--compare", "torch", "--torch-python", py, "--json", str(out),
              *QUICK)
    assert r.returncode == 0, r.stdout + r.stderr
    run = json.loads(out.read_text())
    res = run["cases"][0]["results"]["torch"]
    assert res["status"] == "ok" and res["max_rel_error"] < 1e-6
    assert run["frameworks"]["torch"]["info"]["threads"] == 2
    assert "ours/torch" in r.stdout


def test_import_startup_case(tmp_path):
    out = tmp_path / "run.json"
    r = bench("--preset", "tiny", "-k", "import", "--json", str(out), *QUICK)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(out.read_text())["cases"][0]["results"]["ours"]
    assert res["status"] == "ok" and 0 < res["median"] < 30
    assert res["startup"]["numba_imported"] is False  # importing the package must not load Numba


def test_train_step_case_matches_the_numpy_model(tmp_path):
    # the LeNet-5 step: our framework checked against benchmarks/models.py's hand-written numpy
    # forward, backward and SGD step before it is timed (the check failing makes the case ERROR)
    out = tmp_path / "run.json"
    r = bench("--preset", "tiny", "-k", "lenet5", "-k", "step", "--json", str(out), *QUICK)
    assert r.returncode == 0, r.stdout + r.stderr
    cases = [c for c in json.loads(out.read_text())["cases"] if c["case"]["kind"] == "train_step"]
    assert cases and all(c["results"]["ours"]["status"] == "ok" for c in cases), r.stdout
