"""The command line: ``python -m benchmarks`` (or ``autograd-bench``)."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sys
import tempfile
import time

from . import machine, report
from .cases import OP_ALIASES, CaseError, make_case
from .presets import PRESETS
from .runner import SetupError, Worker, torch_python
from .startup import measure_startup
from .timing import TimingConfig, summarize

EXAMPLES = """\
examples:
  python -m benchmarks                          # the goal cases (see --list), ours only
  python -m benchmarks --compare torch --torch-python /work/torchenv/bin/python
  python -m benchmarks --preset lenet5 --compare numpy,torch --json run.json --markdown run.md
  python -m benchmarks --preset tiny --quick    # every op at tiny shapes, in seconds
  python -m benchmarks --op conv2d --shape 64,3,32,32 --kernel 32,3,3 --padding 1 --mode fwd,fwdbwd
  python -m benchmarks --op max_pool2d --shape 64,64,32,32 --kernel 3 --stride 2 --padding 1
  python -m benchmarks --op conv1d --shape 64,64,256 --kernel 64,3 --padding 1
  python -m benchmarks --op matmul --shape 512,512,512 --dtype float64
  python -m benchmarks --op mul --shape 8,8     # elementwise ops: add mul relu exp tanh sigmoid erf gelu
  python -m benchmarks --model lenet5 --batch 1,64,256 --compare torch
  python -m benchmarks --preset resnet-cifar -k pool --list
  python -m benchmarks --json new.json --baseline old.json --threshold 0.2   # exit 3 on a regression

exit status: 0 all good; 1 a case failed its correctness check or raised; 2 bad arguments
(a bad shape, an unknown op, no interpreter with torch); 3 a regression against --baseline.
PyTorch runs in its own process, with this interpreter if it can import torch, else with
--torch-python or $AUTOGRAD_BENCH_TORCH_PYTHON.
"""


def build_parser():
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark autograd-core's kernels and training steps: each case is checked against a "
                    "plain numpy reference, then timed (median, IQR, min), optionally side by side with numpy "
                    "and PyTorch, each framework in its own process.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sel = ap.add_argument_group("what to run")
    sel.add_argument("--preset", choices=sorted(PRESETS), help="a named set of cases (default: goals, unless "
                     "--op/--model is given)")
    sel.add_argument("-k", "--filter", action="append", default=[], metavar="TEXT",
                     help="keep only cases whose id or label contains TEXT (repeatable: any may match)")
    sel.add_argument("--list", action="store_true", help="list the selected cases and exit")
    one = ap.add_argument_group("a case from the command line")
    one.add_argument("--op", help="conv2d, conv1d, conv_transpose2d, max_pool2d, avg_pool2d, max_pool1d, "
                     "avg_pool1d, adaptive_avg_pool2d, matmul, an elementwise op (add mul relu exp tanh "
                     "sigmoid erf gelu), a reduction (sum mean softmax log_softmax), overhead, train_step")
    one.add_argument("--shape", help="input shape: N,C,H,W (2-D ops), N,C,L (1-D ops), M,K,N (matmul), "
                     "any dims (elementwise, reductions)")
    one.add_argument("--kernel", help="conv: K,R,S (output channels, kernel height, width); conv1d: K,R; "
                     "pooling: R,S or R")
    one.add_argument("--stride", help="an int or a pair H,W (pooling default: the kernel)")
    one.add_argument("--padding", help="an int or a pair H,W")
    one.add_argument("--dilation", help="an int or a pair H,W")
    one.add_argument("--groups", type=int)
    one.add_argument("--output-padding", help="conv_transpose2d output_padding")
    one.add_argument("--output", help="adaptive_avg_pool2d output size OH,OW")
    one.add_argument("--ceil-mode", action="store_true", help="pooling ceil_mode")
    one.add_argument("--dim", type=int, help="reduction dim (default -1)")
    one.add_argument("--mode", help="comma-separated: fwd, bwd-input, bwd-weight, fwdbwd (default: fwdbwd)")
    one.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    one.add_argument("--model", help="train_step model: lenet5, resnet8 or resnet20")
    one.add_argument("--batch", help="train_step batch sizes, comma-separated (default 64)")
    cmp_ = ap.add_argument_group("comparison")
    cmp_.add_argument("--compare", action="append", default=[], metavar="FW",
                      help="numpy and/or torch (comma-separated or repeated), each run in its own process")
    cmp_.add_argument("--torch-python", metavar="PATH", help="an interpreter that can import torch "
                      "(default: this one if it can, else $AUTOGRAD_BENCH_TORCH_PYTHON)")
    tm = ap.add_argument_group("timing")
    tm.add_argument("--threads", type=int, default=2, help="threads for every framework (default 2)")
    tm.add_argument("--warmup", type=float, default=0.2, help="seconds of warm-up after the first call")
    tm.add_argument("--min-repeats", type=int, default=10, help="minimum number of samples (default 10)")
    tm.add_argument("--min-time", type=float, default=1.0, help="minimum total sampling time, s (default 1)")
    tm.add_argument("--max-time", type=float, default=20.0, help="stop sampling after this, s (default 20)")
    tm.add_argument("--noise-threshold", type=float, default=0.10, help="warn when IQR/median exceeds this")
    tm.add_argument("--startup-repeats", type=int, default=5, help="fresh processes per startup case")
    tm.add_argument("--rounds", type=int, default=1, help="measure each case this many times, alternating "
                    "frameworks, and pool the samples (robust ratios on a machine whose load drifts)")
    tm.add_argument("--quick", action="store_true", help="few, short samples (a smoke test, not a measurement)")
    tm.add_argument("--settle", type=float, default=0.1, help="pause between frameworks, s (idle thread pools "
                    "of the previous process stop spinning)")
    tm.add_argument("--cold", action="store_true", help="give our worker an empty Numba cache, so first-call "
                    "times include compilation")
    tm.add_argument("--no-peak", action="store_true", help="skip measuring the sgemm peak")
    out = ap.add_argument_group("output")
    out.add_argument("--json", metavar="FILE", help="write the run (header, raw samples, statistics) as JSON")
    out.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown")
    out.add_argument("--baseline", metavar="FILE", help="an earlier --json run: compare our medians with it")
    out.add_argument("--stat", choices=["median", "min"], default="median", help="the statistic behind ratios, "
                     "goals and --baseline (default median; min is steadier when other processes load the machine)")
    out.add_argument("--threshold", type=float, default=0.20, help="slow-down that counts as a regression "
                     "(default 0.20 = 20%%)")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return ap


def _split(values):
    out = []
    for v in values:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def cases_from_args(args):
    """The case(s) described by --op/--model and friends ([] when none is)."""
    op = args.op
    if op is None and args.model:
        op = "train_step"
    if op is None:
        if args.shape or args.kernel:
            if not args.kernel:
                raise CaseError("--shape given without --op: say which op, e.g. --op max_pool2d")
            op = "conv2d"
        else:
            return []
    op = op.replace("-", "_")
    params = {}
    if op in OP_ALIASES:
        op, params["op"] = OP_ALIASES[op]
    for name in ("shape", "kernel", "stride", "padding", "dilation", "output_padding", "output"):
        v = getattr(args, name)
        if v is not None:
            params[name] = v
    if args.groups is not None:
        params["groups"] = args.groups
    if args.ceil_mode:
        params["ceil_mode"] = True
    if args.dim is not None:
        params["dim"] = args.dim
    if op == "train_step":
        params["model"] = args.model or "lenet5"
        batches = _split([args.batch]) if args.batch else ["64"]
        try:
            return [make_case("train_step", dtype=args.dtype, model=params["model"], batch=int(b)) for b in batches]
        except ValueError:
            raise CaseError(f"--batch: expected comma-separated integers, got {args.batch!r}") from None
    modes = _split([args.mode]) if args.mode else [None]
    return [make_case(op, mode, dtype=args.dtype, **params) for mode in modes]


def select_cases(args):
    cases = cases_from_args(args)
    if args.preset or not cases:
        cases = PRESETS[args.preset or "goals"]() + cases
    if args.filter:
        keys = [f.lower() for f in args.filter]
        cases = [c for c in cases if any(k in c.title.lower() for k in keys)]
    return cases


class Progress:
    def __init__(self, total, quiet):
        self.total, self.quiet, self.n = total, quiet, 0
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def _emit(self, text, final):
        if self.quiet:
            return
        if self.tty:
            cols = shutil.get_terminal_size((120, 20)).columns
            sys.stderr.write("\r\x1b[K" + text[:cols - 1])
            if final:
                sys.stderr.write("\n")
        elif final:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def start(self, what):
        self._emit(f"[{self.n + 1}/{self.total} {time.perf_counter() - self.t0:5.0f}s] {what} ...", False)

    def done(self, what, res):
        self.n += 1
        st = res.get("status")
        if st == "ok":
            tail = report.fmt_time(res.get("median")) + (" (noisy)" if res.get("noisy") else "")
        elif st == "unavailable":
            tail = "unavailable"
        else:
            tail = st.upper() + ": " + str(res.get("error", ""))[:80]
        self._emit(f"[{self.n}/{self.total} {time.perf_counter() - self.t0:5.0f}s] {what}: {tail}", not self.tty)

    def finish(self):
        if self.tty and not self.quiet:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def timing_config(args):
    if args.quick:
        return TimingConfig(warmup_calls=1, warmup_time=0.0, min_repeats=3, min_time=0.02, max_time=2.0,
                            sample_time=0.002, noise_threshold=args.noise_threshold)
    return TimingConfig(warmup_time=args.warmup, min_repeats=args.min_repeats, min_time=args.min_time,
                        max_time=args.max_time, noise_threshold=args.noise_threshold)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cases = select_cases(args)
        compare = _split(args.compare)
        for fw in compare:
            if fw not in ("numpy", "torch"):
                raise CaseError(f"--compare: unknown framework {fw!r}; choose numpy and/or torch")
        if args.threads <= 0:
            raise CaseError(f"--threads must be positive, got {args.threads}")
        if args.rounds <= 0:
            raise CaseError(f"--rounds must be positive, got {args.rounds}")
    except CaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not cases:
        print("error: no case selected (check --preset and -k/--filter; --list shows the cases)", file=sys.stderr)
        return 2
    if args.list:
        for c in cases:
            goal = c.to_dict()["goal"]
            print(c.title + (f"   [goal {goal}]" if goal else ""))
        return 0

    frameworks = ["ours"] + [fw for fw in dict.fromkeys(compare) if fw != "ours"]
    pythons = {"ours": sys.executable, "numpy": sys.executable}
    try:
        if "torch" in frameworks:
            pythons["torch"] = torch_python(args.torch_python)
        baseline = report.load_run(args.baseline) if args.baseline else None
    except (SetupError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    cfg = timing_config(args)
    startup_repeats = 1 if args.quick else max(1, args.startup_repeats)
    cold_dir = tempfile.mkdtemp(prefix="autograd-bench-cold-") if args.cold else None
    workers = {fw: Worker(fw, pythons[fw], args.threads,
                          extra_env={"NUMBA_CACHE_DIR": cold_dir} if (cold_dir and fw == "ours") else None)
               for fw in frameworks}
    run = {"schema": report.SCHEMA, "header": machine.header(args.threads, argv), "timing": cfg.to_dict(),
           "peak": None, "frameworks": {fw: {"python": pythons[fw]} for fw in frameworks}, "cases": []}
    warn = busy_warning(run["header"])
    run["header"]["busy_warning"] = warn
    if warn and not args.quiet:
        print(warn, file=sys.stderr)
    total = sum(1 if c.spec.startup else args.rounds for c in cases) * len(frameworks) + (0 if args.no_peak else 1)
    progress = Progress(total, args.quiet)
    interrupted = False
    try:
        if not args.no_peak:
            progress.start("sgemm peak (numpy 2048x2048 float32)")
            pw = workers.get("numpy") or Worker("numpy", sys.executable, args.threads)
            peak_cfg = TimingConfig(warmup_time=0.2, min_repeats=3 if args.quick else 7,
                                    min_time=0.1 if args.quick else 0.5, max_time=5.0)
            run["peak"] = pw.request({"cmd": "peak", "timing": peak_cfg.to_dict()})
            if pw is not workers.get("numpy"):
                pw.close()
            progress.done("sgemm peak", run["peak"])
        peak = (run["peak"] or {}).get("gflops")
        for case in cases:
            flops, nbytes = case.spec.work(case.p, case.mode, case.dtype)
            entry = {"id": case.id, "title": case.title, "case": case.to_dict(), "flops": flops, "bytes": nbytes,
                     "results": {}}
            rounds = 1 if case.spec.startup else args.rounds
            for rnd, (i, fw) in itertools.product(range(rounds), enumerate(frameworks)):
                what = f"{fw} {case.title}" + (f" (round {rnd + 1}/{rounds})" if rounds > 1 else "")
                progress.start(what)
                if (i or rnd) and args.settle > 0:
                    time.sleep(args.settle)
                if case.spec.startup:
                    try:
                        res = measure_startup(case, fw, pythons[fw], args.threads, startup_repeats,
                                              cfg.noise_threshold)
                    except Exception as e:  # report and go on
                        res = {"status": "error", "error": f"{type(e).__name__}: {e}"}
                else:
                    res = workers[fw].request({"cmd": "run", "case": case.to_dict(), "timing": cfg.to_dict()})
                entry["results"][fw] = merge_rounds(entry["results"].get(fw), res, cfg.noise_threshold)
                progress.done(what, res)
            report.derive(entry, peak, args.stat)
            run["cases"].append(entry)
        for fw, w in workers.items():
            meta = run["frameworks"][fw]
            info = w.request({"cmd": "info"})
            meta.update({"info": w.info, "runtime": info.get("info"), "unavailable": w.unavailable})
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for w in workers.values():
            w.close()
        if cold_dir:
            shutil.rmtree(cold_dir, ignore_errors=True)
        progress.finish()
    run["header"]["load_average_end"] = machine.load_average()
    run["summary"] = summary(run)

    print(report.text_report(run))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(run, f, indent=1)
        print(f"\nwrote {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report.markdown_report(run))
        print(f"wrote {args.markdown}")
    code = 1 if run["summary"]["failed"] or run["summary"]["errors"] else 0
    if baseline is not None:
        rows = report.compare_baseline(run, baseline, args.threshold, stat=args.stat)
        print("\n" + report.baseline_text(rows, args.threshold, args.baseline, args.stat))
        if any(r[4] == "REGRESSION" for r in rows):
            code = code or 3
    if interrupted:
        print("\ninterrupted: the tables above hold the cases that finished", file=sys.stderr)
        return 130
    return code


def merge_rounds(prev, res, noise_threshold):
    """Pool the samples of several rounds of one case (the first round keeps its first-call time)."""
    if prev is None:
        if res.get("status") == "ok":
            res["rounds"] = 1
        return res
    if prev.get("status") != "ok" or res.get("status") != "ok":
        return prev if prev.get("status") != "ok" else res
    samples = prev["samples"] + res["samples"]
    merged = dict(prev)
    merged.update(summarize(samples, noise_threshold))
    merged["samples"] = samples
    merged["rounds"] = prev.get("rounds", 1) + 1
    merged["total_time"] = prev.get("total_time", 0) + res.get("total_time", 0)
    merged["round_medians"] = prev.get("round_medians", [prev["median"]]) + [res["median"]]
    merged["max_rel_error"] = max(prev.get("max_rel_error", 0), res.get("max_rel_error", 0))
    if "others_cpu" in prev and "others_cpu" in res:
        merged["others_cpu"] = (prev["others_cpu"] + res["others_cpu"]) / 2
    return merged


def busy_warning(header):
    """A warning when other processes already use the cores the benchmark's threads need."""
    load, cores = header.get("load_average_start"), header.get("cores") or 1
    if load and load[0] > cores - header["threads"] + 0.5:
        msg = (f"warning: the machine is busy (load average {load[0]:.1f} on {cores} cores) before the run, so "
               f"times are inflated and noisy")
        if header["threads"] > 1:
            msg += (f": with {header['threads']} threads per framework, parallel regions wait for other "
                    f"processes' time slices. Rerun when the machine is idle, or compare with --threads 1")
        return msg + "; --rounds 3 --stat min makes ratios steadier."
    return None


def summary(run):
    counts = {"ok": 0, "failed": 0, "errors": 0, "unavailable": 0, "noisy": 0}
    for entry in run["cases"]:
        for res in entry["results"].values():
            st = res.get("status")
            key = {"ok": "ok", "failed": "failed", "unavailable": "unavailable"}.get(st, "errors")
            counts[key] += 1
            counts["noisy"] += bool(res.get("noisy"))
    return counts


if __name__ == "__main__":
    sys.exit(main())
