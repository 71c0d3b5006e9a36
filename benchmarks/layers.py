"""Where a training step's time goes: each layer of a model timed alone, ours against PyTorch.

    python -m benchmarks.layers --model resnet8 --batch 32 --compare torch \\
        --torch-python /work/torchenv/bin/python

Each framework runs in its own process (as in the CLI, same thread settings).
The model is the benchmark's own declaration (``models.py``), built with the
framework's ``nn`` and loaded with the same initial weights. A forward pass
under no_grad gives every layer its real input (in the framework's own memory
layout: our convolutions hand channels-last views on). Then each *unit* is
timed on that input:

- ``fwd``: the layer's forward with the graph recorded (inputs require grad,
  as in a training step);
- ``fwd+bwd``: forward, then ``grad(y, [x] + parameters, gy)`` with a fixed
  random ``gy`` in ``y``'s memory layout, as the next layer's backward would hand
  it over (the network's first layer takes no input gradient, as in a step);
- ``bwd`` = ``fwd+bwd - fwd``.

Units are the leaf layers; a residual block adds ``add+relu`` (the sum of its
two paths and the ReLU after it). Then the loss (cross-entropy on the logits,
fwd+bwd), ``zero_grad``, the optimizer step (SGD with momentum, lr 0) and the
whole step as the train-step case runs it. The sum of the units is printed
beside the whole step: the difference is the cost of the real graph (gradient
accumulation, layouts) that isolated layers do not see.

Medians over at least ``--min-time`` seconds per unit; ``--rounds`` alternates
the frameworks and keeps each unit's best median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from . import models as M


def _time(fn, min_time, min_reps=5):
    for _ in range(2):
        fn()
    xs = []
    t_end = time.perf_counter() + min_time
    while len(xs) < min_reps or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t0)
        if len(xs) > 5000:
            break
    return statistics.median(xs)


def _units(spec):
    """(label, path of module attribute names or a special marker, input key, output key)."""
    out = []
    prev = "x"
    for layer in spec["layers"]:
        kind, name = layer[0], layer[1]
        if kind == "block":
            main, short = M._block_layers("", *layer[2:])
            src = prev
            cur = src
            for sub in main:
                key = f"{name}.{sub[1][1:]}"
                out.append((key, (name, sub[1][1:]), cur, key))
                cur = key
            scur = src
            for sub in short:
                key = f"{name}.{sub[1][1:]}"
                out.append((key, (name, sub[1][1:]), scur, key))
                scur = key
            key = f"{name}.add+relu"
            out.append((key, "add+relu", (cur, scur), key))
            prev = key
        else:
            out.append((name, (name,), prev, name))
            prev = name
    return out


def worker(framework, model, batch, threads, min_time):
    from .cases import make_case, make_inputs

    if framework == "ours":
        from .frameworks import ours_fw as fw
    else:
        from .frameworks import torch_fw as fw
    fw.setup(threads)
    ad = fw._ad
    spec = M.MODELS[model]
    case = make_case("train_step", model=model, batch=batch)
    a = make_inputs(case)
    nn, optim = ad.nn, ad.optim
    net = M.build_module(spec, nn)
    named = dict(net.named_parameters())
    for k, p in named.items():
        ad.load_param(p, a["param:" + k])
    rng = np.random.default_rng(0)
    acts = {"x": ad.T(a["x"])}
    grad = ad.grad
    rows = []

    def module(path):
        m = net
        for p in path:
            m = getattr(m, p)
        return m

    for label, path, src, dst in _units(spec):
        if path == "add+relu":
            ins = [acts[src[0]].detach().requires_grad_(), acts[src[1]].detach().requires_grad_()]
            params = []
            f = lambda u, v: (u + v).relu()  # noqa: E731
        else:
            m = module(path)
            x = acts[src].detach()
            first = src == "x"
            if not first:
                x = x.requires_grad_()
            ins = [x] if not first else []
            params = list(m.parameters())
            f = (lambda u, m=m: m(u)) if not first else (lambda m=m, x=x: m(x))
        y = f(*ins)
        acts[dst] = y.detach()
        # in y's memory layout, as the next layer's backward hands it over in a step
        gy = ad.T_like(rng.standard_normal(tuple(y.shape)).astype(np.float32), y.detach())
        want = ins + params

        def fwd(f=f, ins=ins):
            return f(*ins)

        def fwdbwd(f=f, ins=ins, want=want, gy=gy):
            y = f(*ins)
            if want:
                grad(y, want, gy, False)
            return y

        tf = _time(fwd, min_time)
        tb = _time(fwdbwd, min_time)
        rows.append({"unit": label, "fwd": tf, "fwdbwd": tb})

    logits = acts[_units(spec)[-1][3]].detach()
    labels = ad.T(a["labels"])
    loss_fn = nn.CrossEntropyLoss()
    lg = logits.requires_grad_()

    def loss_fwd():
        return loss_fn(lg, labels)

    def loss_fwdbwd():
        loss = loss_fn(lg, labels)
        grad(loss, [lg], None, False)

    rows.append({"unit": "loss", "fwd": _time(loss_fwd, min_time), "fwdbwd": _time(loss_fwdbwd, min_time)})

    opt = optim.SGD(list(named.values()), lr=M.LR, momentum=M.MOMENTUM)
    x = acts["x"]

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), labels)
        loss.backward()
        opt.step()

    step()
    for g in opt.param_groups:
        g["lr"] = 0.0
    grads = {k: (p.grad.detach().clone() if hasattr(p.grad, "clone") else p.grad) for k, p in named.items()}

    def only_step():
        opt.step()

    def zero():
        opt.zero_grad()
        for k, p in named.items():
            p.grad = grads[k]

    rows.append({"unit": "optimizer step", "fwd": 0.0, "fwdbwd": _time(only_step, min_time)})
    rows.append({"unit": "zero_grad", "fwd": 0.0, "fwdbwd": _time(zero, min_time)})
    rows.append({"unit": "WHOLE STEP", "fwd": 0.0, "fwdbwd": _time(step, max(min_time, 1.0))})
    return rows


def _fmt(t):
    return f"{t * 1e3:8.3f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m benchmarks.layers")
    ap.add_argument("--model", default="resnet8", choices=sorted(M.MODELS))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compare", default="", help="torch: also time PyTorch, in its own process")
    ap.add_argument("--torch-python", default=None)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        rows = worker(args.worker, args.model, args.batch, args.threads, args.min_time)
        sys.stdout.write(json.dumps(rows) + "\n")
        return 0

    from .runner import torch_python, worker_env

    fws = ["ours"] + (["torch"] if "torch" in args.compare else [])
    pythons = {"ours": sys.executable}
    if "torch" in fws:
        pythons["torch"] = torch_python(args.torch_python)
    best = {}
    for _ in range(args.rounds):
        for fw in fws:
            env, cwd, staged = worker_env(fw, args.threads, pythons[fw])
            cmd = [pythons[fw], "-m", "benchmarks.layers", "--worker", fw, "--model", args.model, "--batch",
                   str(args.batch), "--threads", str(args.threads), "--min-time", str(args.min_time)]
            r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
            if staged:
                import shutil
                shutil.rmtree(staged, ignore_errors=True)
            if r.returncode:
                sys.stderr.write(r.stderr)
                return 1
            rows = json.loads(r.stdout.strip().splitlines()[-1])
            cur = best.setdefault(fw, rows)
            for old, new in zip(cur, rows):
                for k in ("fwd", "fwdbwd"):
                    if new[k] and new[k] < old[k]:
                        old[k] = new[k]
    units = [r["unit"] for r in best["ours"]]
    head = f"{'unit':24s} {'ours fwd':>9s} {'bwd':>9s} {'total':>9s}"
    if "torch" in best:
        head += f" {'torch fwd':>9s} {'bwd':>9s} {'total':>9s} {'ratio':>6s} {'ms over':>8s}"
    print(f"{args.model} batch {args.batch}, {args.threads} threads, times in ms (median; best of "
          f"{args.rounds} round(s))")
    print(head)
    sums = {fw: 0.0 for fw in best}
    for i, u in enumerate(units):
        line = f"{u:24s}"
        for fw in fws:
            r = best[fw][i]
            if u != "WHOLE STEP":
                sums[fw] += r["fwdbwd"]
            line += f" {_fmt(r['fwd'])} {_fmt(r['fwdbwd'] - r['fwd'])} {_fmt(r['fwdbwd'])}"
        if "torch" in best:
            o, t = best["ours"][i]["fwdbwd"], best["torch"][i]["fwdbwd"]
            line += f" {o / t if t else float('nan'):6.2f} {_fmt(o - t)}"
        print(line)
    line = f"{'sum of the units':24s}"
    for fw in fws:
        line += f" {'':9s} {'':9s} {_fmt(sums[fw])}"
    print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "batch": args.batch, "rows": best}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
