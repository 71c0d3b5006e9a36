"""The worker process: runs cases of one framework, one request at a time.

Started by the CLI as ``python -m benchmarks.worker --framework NAME --threads N``
(with the thread environment already set). Requests arrive on stdin and answers
leave on the original stdout, one JSON object per line; anything a library
prints goes to stderr instead, so it cannot corrupt the protocol.

Requests: ``{"cmd": "hello"}``, ``{"cmd": "run", "case": {...}, "timing": {...}}``,
``{"cmd": "peak", "timing": {...}}``, ``{"cmd": "info"}``, ``{"cmd": "exit"}``.

For each case: draw the inputs, build the callable, time the first call on its
own (it includes Numba compilation or loading from the on-disk cache), check the
outputs against the numpy reference (a mismatch is reported as a failure and the
case is not timed), then ``timing.measure`` the rest.

``AUTOGRAD_BENCH_INJECT_FAULT=SUBSTRING`` (for tests of the benchmark itself)
perturbs the observed outputs of cases whose id contains SUBSTRING, as a broken
kernel would.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import traceback


def _perturb(outputs):
    import numpy as np

    return {k: np.asarray(v) * 1.05 + 1e-3 for k, v in outputs.items()}


def run_case(fw, case_dict, timing_dict, framework_name):
    from .cases import Case, compare, expected_outputs, make_inputs, max_rel_error, tolerance
    from .frameworks import Unavailable
    from .timing import TimingConfig, measure

    case = Case.from_dict(case_dict)
    cfg = TimingConfig.from_dict(timing_dict)
    if getattr(case.spec, "min_repeats", None):  # a case that lasts seconds (a training epoch)
        cfg.min_repeats = min(cfg.min_repeats, case.spec.min_repeats)
    inputs = make_inputs(case)
    try:
        run, observe = fw.build(case, inputs)
    except Unavailable as e:
        return {"status": "unavailable", "reason": str(e)}
    gc.collect()
    t0 = time.perf_counter()
    result = run()
    first = time.perf_counter() - t0
    got = [observe(result)]
    for _ in range(case.spec.check_calls - 1):
        got.append(observe(run()))
    fault = os.environ.get("AUTOGRAD_BENCH_INJECT_FAULT")
    if fault and fault in case.id and framework_name != "numpy":
        got = [_perturb(g) for g in got]
    want = expected_outputs(case, inputs, exact=True)
    tol, norm = tolerance(case)
    for i, (g, w) in enumerate(zip(got, want)):
        msg = compare(g, w, tol, norm)
        if msg:
            where = f"call {i + 1}: " if len(want) > 1 else ""
            return {"status": "failed", "error": f"wrong result, {where}{msg}", "first_call_s": first}
    err = max(max_rel_error(g, w, norm) for g, w in zip(got, want))
    del got, want, result
    prepare = getattr(run, "before_timing", None)
    if prepare is not None:
        prepare()
    out = measure(run, cfg)
    out.update({"status": "ok", "first_call_s": first, "max_rel_error": err, "tolerance": tol})
    return out


def sgemm_peak(timing_dict, n=2048):
    """GFLOP/s of numpy's float32 n x n matmul (the machine's practical compute ceiling)."""
    import numpy as np

    from .timing import TimingConfig, measure

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    c = np.empty((n, n), np.float32)
    cfg = TimingConfig.from_dict(timing_dict)
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    first = time.perf_counter() - t0
    out = measure(lambda: np.matmul(a, b, out=c), cfg)
    flops = 2.0 * n ** 3
    out.update({"status": "ok", "n": n, "first_call_s": first, "gflops": flops / out["median"] / 1e9,
                "gflops_best": flops / out["min"] / 1e9})
    return out


def handle(fw, name, threads, req):
    cmd = req.get("cmd")
    if cmd == "hello":
        info = fw.setup(threads)
        info.update({"python": sys.version.split()[0], "executable": sys.executable, "pid": os.getpid()})
        return {"status": "ok", "info": info}
    if cmd == "run":
        return run_case(fw, req["case"], req.get("timing", {}), name)
    if cmd == "peak":
        return sgemm_peak(req.get("timing", {}), req.get("n", 2048))
    if cmd == "info":
        return {"status": "ok", "info": fw.runtime_info()}
    return {"status": "error", "error": f"unknown command {cmd!r}"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints (ours, Numba, torch) go to stderr
    sys.stdout = sys.stderr

    from .frameworks import load

    fw = load(args.framework)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        if req.get("cmd") == "exit":
            break
        try:
            resp = handle(fw, args.framework, args.threads, req)
        except Exception as e:  # report, keep serving
            tb = traceback.format_exc().strip().splitlines()
            resp = {"status": "error", "error": f"{type(e).__name__}: {e}", "traceback": tb[-12:]}
        proto.write(json.dumps(resp, default=_json_default) + "\n")
        proto.flush()
    return 0


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
