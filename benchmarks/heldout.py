"""Held-out check against PyTorch's own per-op sample inputs (its OpInfo ``sample_inputs``).

    python -m benchmarks.heldout --torch-python /path/to/python-with-torch [--ops gelu,layer_norm] [-v]

A developer check, not a test (PyTorch is never a dependency): the given interpreter (which
needs ``torch`` and ``expecttest``, imported by PyTorch's testing package) runs this file with
``--export``, collecting for each ``torch.nn.functional`` op that we also have every sample
PyTorch's test suite uses, in float64 and float32, with PyTorch's outputs and, in float64, the
gradients of ``0.5 * sum(outputs)`` with respect to every input that requires grad; then this
interpreter runs the same calls through ``nn.functional`` and compares. Ops with random
outputs (dropout, rrelu in training) are compared on shapes only. Prints one line per op
(samples whose value and gradient agree, whose value agrees, where both raise, and every
mismatch with its first messages); exit status 1 if anything disagrees.
"""

from __future__ import annotations

import argparse
import collections
import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import numpy as np

RANDOM = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "rrelu"}
SWAPPED = {"embedding"}  # PyTorch's OpInfo passes the weight first


# --------------------------------------------------------------------------- the PyTorch side

def _export(names, path):
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    def conv(v):
        if isinstance(v, torch.Tensor):
            return ("T", v.detach().numpy().copy(), bool(v.requires_grad))
        if isinstance(v, torch.Size):
            return tuple(v)
        if isinstance(v, (list, tuple)):
            return type(v)(conv(a) for a in v)
        if isinstance(v, dict):
            return {k: conv(a) for k, a in v.items()}
        if isinstance(v, torch.dtype):
            return ("D", str(v).replace("torch.", ""))
        if callable(v):
            return ("F", getattr(v, "__name__", repr(v)))
        return v

    def leaves(v, out):
        if isinstance(v, torch.Tensor):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            for a in v:
                leaves(a, out)
        elif isinstance(v, dict):
            for a in v.values():
                leaves(a, out)
        return out

    records = []
    for op in op_db:
        short = op.name.replace("nn.functional.", "")
        if not op.name.startswith("nn.functional.") or short not in names:
            continue
        for dtype in (torch.float64, torch.float32):
            try:
                samples = list(op.sample_inputs("cpu", dtype, requires_grad=op.supports_autograd))
            except Exception as e:  # pragma: no cover - depends on the PyTorch version
                print(f"{op.name}: no samples ({e})", file=sys.stderr)
                continue
            for s in samples:
                torch.manual_seed(0)
                rec = dict(name=short, variant=op.variant_test_name, dtype=str(dtype).replace("torch.", ""),
                           input=conv(s.input), args=conv(tuple(s.args)), kwargs=conv(dict(s.kwargs)))
                try:
                    out = op.op(s.input, *s.args, **s.kwargs)
                except Exception as e:
                    rec["torch_error"] = f"{type(e).__name__}: {e}"
                    records.append(rec)
                    continue
                outs = out if isinstance(out, (tuple, list)) else (out,)
                rec["out"] = [o.detach().numpy().copy() if isinstance(o, torch.Tensor) else o for o in outs]
                ins = [t for t in leaves((s.input, s.args, s.kwargs), []) if t.requires_grad]
                diff = [o for o in outs if isinstance(o, torch.Tensor) and o.requires_grad]
                if ins and diff and dtype == torch.float64:
                    grads = torch.autograd.grad(diff, ins, [torch.ones_like(o) * 0.5 for o in diff], allow_unused=True)
                    rec["grads"] = [None if g is None else g.numpy().copy() for g in grads]
                records.append(rec)
    with open(path, "wb") as f:
        pickle.dump(records, f)


# --------------------------------------------------------------------------- our side

def _ours(v, leaves):
    import autograd_core as ag
    if isinstance(v, tuple) and len(v) == 3 and v[0] == "T":
        arr, rg = v[1], v[2] and v[1].dtype.kind == "f"
        t = ag.tensor(arr, requires_grad=rg)
        if rg:
            leaves.append(t)
        return t
    if isinstance(v, tuple) and len(v) == 2 and v[0] in ("D", "F"):
        return np.dtype(v[1]) if v[0] == "D" else None
    if isinstance(v, (list, tuple)):
        return type(v)(_ours(a, leaves) for a in v)
    if isinstance(v, dict):
        return {k: _ours(a, leaves) for k, a in v.items()}
    return v


def _compare(records):
    import autograd_core as ag
    import nn.functional as F

    stats = collections.defaultdict(collections.Counter)
    notes = collections.defaultdict(collections.Counter)
    for r in records:
        name = r["name"]
        key = name + (f"[{r['variant']}]" if r["variant"] else "")
        leaves = []
        x, args, kwargs = _ours(r["input"], leaves), _ours(r["args"], leaves), _ours(r["kwargs"], leaves)
        if name in SWAPPED:
            x, args = args[0], (x,) + tuple(args[1:])
        if kwargs.get("distance_function", 0) is None:
            del kwargs["distance_function"]
        try:
            out = getattr(F, name)(x, *args, **kwargs)
        except Exception as e:
            kind = "both raise" if "torch_error" in r else "we raise"
            stats[key][kind] += 1
            if kind == "we raise":
                notes[key][f"{type(e).__name__}: {str(e)[:150]}"] += 1
            continue
        if "torch_error" in r:
            stats[key]["PyTorch raises, we do not"] += 1
            notes[key]["PyTorch: " + r["torch_error"][:150]] += 1
            continue
        outs = out if isinstance(out, (tuple, list)) else (out,)
        rtol, atol = (1e-4, 1e-5) if r["dtype"] == "float32" else (1e-7, 1e-9)
        problem = None
        for o, want in zip(outs, r["out"]):
            if not isinstance(want, np.ndarray):
                continue
            got = o.detach().numpy() if isinstance(o, ag.Tensor) else np.asarray(o)
            if got.shape != want.shape:
                problem = f"shape {got.shape}, PyTorch's {want.shape}"
            elif name not in RANDOM and not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
                problem = f"value off by {np.nanmax(np.abs(got - want)):.3g} ({r['dtype']}, kwargs {r['kwargs']})"
            if problem:
                break
        if problem:
            stats[key]["value differs"] += 1
            notes[key][problem] += 1
            continue
        if "grads" not in r or name in RANDOM:
            stats[key]["value agrees"] += 1
            continue
        diff = [o for o in outs if isinstance(o, ag.Tensor) and o.requires_grad]
        try:
            grads = ag.grad(diff, leaves, [ag.ones_like(o) * 0.5 for o in diff], allow_unused=True)
        except Exception as e:
            stats[key]["gradient raises"] += 1
            notes[key][f"{type(e).__name__}: {str(e)[:150]}"] += 1
            continue
        for g, want in zip(grads, r["grads"]):
            if want is not None:
                got = np.zeros_like(want) if g is None else g.numpy()
                if not np.allclose(got, want, rtol=1e-6, atol=1e-8, equal_nan=True):
                    problem = f"gradient off by {np.nanmax(np.abs(got - want)):.3g} (kwargs {r['kwargs']})"
                    break
        if problem:
            stats[key]["gradient differs"] += 1
            notes[key][problem] += 1
        else:
            stats[key]["value and gradient agree"] += 1
    return stats, notes


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.heldout", description=__doc__.split("\n\n")[0])
    p.add_argument("--torch-python", default=os.environ.get("AUTOGRAD_BENCH_TORCH_PYTHON"),
                   help="an interpreter with torch and expecttest (default: $AUTOGRAD_BENCH_TORCH_PYTHON)")
    p.add_argument("--ops", help="comma-separated nn.functional names (default: every one we have)")
    p.add_argument("--export", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("-v", "--verbose", action="store_true", help="print agreeing ops too")
    a = p.parse_args(argv)
    if a.export:
        warnings.simplefilter("ignore")
        _export(set(a.ops.split(",")), a.export)
        return 0
    if not a.torch_python:
        p.error("give --torch-python (an interpreter that can import torch and expecttest)")
    import nn.functional as F
    names = a.ops.split(",") if a.ops else sorted(F.__all__)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "samples.pkl")
        subprocess.run([a.torch_python, os.path.abspath(__file__), "--export", path, "--ops", ",".join(names)],
                       check=True)
        with open(path, "rb") as f:
            records = pickle.load(f)
    warnings.simplefilter("ignore")
    stats, notes = _compare(records)
    total, bad = collections.Counter(), False
    for key in sorted(stats):
        total.update(stats[key])
        wrong = {k: v for k, v in stats[key].items() if k not in ("value and gradient agree", "value agrees",
                                                                   "both raise")}
        bad = bad or bool(wrong)
        if wrong or a.verbose:
            print(f"{key:42s} {dict(stats[key])}")
            for msg, n in notes[key].most_common(3):
                print(f"    {n} x {msg}")
    print(f"{len(stats)} ops, {len(records)} samples: {dict(total)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
