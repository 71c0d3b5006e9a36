"""Benchmark cases: what is measured, its inputs, its expected outputs and its work.

A ``Case`` is plain data (it travels as JSON to the worker processes): a
``kind`` (``conv2d``, ``max_pool2d``, ``train_step``, ...), a ``mode`` (``fwd``,
``bwd-input``, ``bwd-weight``, ``fwdbwd``, ``step``, ...), the kind's parameters,
a dtype, an optional human label and an optional goal. Each kind knows how to
validate its parameters (with errors that say what is wrong and how to fix it),
draw its inputs from a seeded generator (identically in every process), compute
the expected outputs with the numpy references, and count its work (FLOPs for
compute-bound cases, bytes for memory-bound ones).

Only numpy is imported here.
"""

from __future__ import annotations

import dataclasses
import json
import zlib

import numpy as np

from . import models as M
from . import reference as R


class CaseError(ValueError):
    """A case's parameters are invalid (a bad shape, kernel, stride, ...)."""


@dataclasses.dataclass(frozen=True)
class Case:
    kind: str
    mode: str
    params: tuple  # sorted (name, value) pairs; values are ints, strs, bools or tuples of ints
    dtype: str = "float32"
    label: str = ""
    goal: tuple = ()  # (("max_ratio", 0.5), ("vs", "torch")) or (("max_seconds", 1.0),)

    @property
    def p(self):
        return dict(self.params)

    @property
    def spec(self):
        return KINDS[self.kind]

    @property
    def id(self):
        """A stable, readable identifier (used to match cases against a baseline run)."""
        dtype = "" if self.kind == "import" else f" {self.dtype}"
        return f"{self.kind}.{self.mode} {self.spec.describe(self.p)}{dtype}"

    @property
    def title(self):
        return f"{self.label}: {self.id}" if self.label else self.id

    def to_dict(self):
        return {"kind": self.kind, "mode": self.mode, "params": {k: _jsonable(v) for k, v in self.params},
                "dtype": self.dtype, "label": self.label, "goal": dict(self.goal), "id": self.id}

    @classmethod
    def from_dict(cls, d):
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in d["params"].items()}
        return cls(d["kind"], d["mode"], tuple(sorted(params.items())), d.get("dtype", "float32"),
                   d.get("label", ""), tuple(sorted((d.get("goal") or {}).items())))


def _jsonable(v):
    return list(v) if isinstance(v, tuple) else v


def make_case(kind, mode=None, dtype="float32", label="", goal=None, **params):
    """Validate and normalise a case (raises ``CaseError`` with a clear message)."""
    kind = kind.replace("-", "_")
    if kind not in KINDS:
        raise CaseError(f"unknown benchmark op {kind!r}; known: {', '.join(sorted(KINDS))}")
    spec = KINDS[kind]
    mode = mode or spec.modes[0]
    if mode not in spec.modes:
        raise CaseError(f"{kind}: unknown mode {mode!r}; this op has modes {', '.join(spec.modes)}")
    if dtype not in ("float32", "float64"):
        raise CaseError(f"--dtype must be float32 or float64, got {dtype!r}")
    p = spec.normalize(dict(params))
    return Case(kind, mode, tuple(sorted(p.items())), dtype, label, tuple(sorted((goal or {}).items())))


def seed_of(case):
    return zlib.crc32(json.dumps([case.kind, case.params, case.dtype], default=list).encode())


def make_inputs(case):
    """The case's input arrays, drawn from a generator seeded by the case (same in every process)."""
    rng = np.random.default_rng(seed_of(case))
    return case.spec.inputs(case.p, case.mode, rng, np.dtype(case.dtype))


def expected_outputs(case, inputs, exact=False):
    """The reference outputs: one dict per checked call (a training step is checked over two steps).

    ``exact`` computes a float32 case in float64 (the correctness reference); without it the
    reference runs in the case's dtype (the ``numpy`` framework, which is timed).
    """
    if exact and case.dtype == "float32":
        inputs = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in inputs.items()}
    return case.spec.expected(case.p, case.mode, inputs)


def tolerance(case):
    """(tolerance, norm): the largest accepted error of each output relative to the reference.

    Kernels: max|got - reference| / max|reference|. A training step is compared after two SGD
    steps, with norms (||got - reference|| / ||reference|| per parameter update): batch norm's
    backward cancels large terms, so in float32 single elements of an update can be off by a
    few percent while the update as a whole is right (PyTorch's own float32 ResNet-8 step is
    within 3e-3 of the float64 reference in norm, 5e-3 elementwise); a real bug (a wrong or
    missing gradient, a wrong momentum) is off by O(1).
    """
    if case.kind == "train_step":
        if case.dtype == "float64":
            return 1e-9, True
        # 20 layers of batch norm add up more float32 rounding: PyTorch's own ResNet-20 step at
        # batch 16 is 2.1e-2 off the float64 reference in the first batch norm's weight update
        return (5e-2 if case.p["model"] == "resnet20" else 2e-2), True
    return (1e-9 if case.dtype == "float64" else 1e-4), False


def _rel_err(val, ref, norm):
    diff = np.abs(val.astype(np.float64) - ref.astype(np.float64))
    if not diff.size:
        return 0.0, diff, 0.0
    if norm:
        scale = float(np.linalg.norm(ref.astype(np.float64)))
        return float(np.linalg.norm(diff)) / max(scale, 1e-30), diff, scale
    scale = float(np.max(np.abs(ref)))
    return float(diff.max()) / max(scale, 1e-30), diff, scale


def compare(got, want, tol, norm=False):
    """Compare dicts of arrays; return None when they agree, else a message naming the first mismatch."""
    for key, ref in want.items():
        if key not in got:
            return f"{key}: missing from the outputs"
        ref = np.asarray(ref)
        val = np.asarray(got[key])
        if val.shape != ref.shape:
            return f"{key}: shape {val.shape}, expected {ref.shape}"
        if not np.all(np.isfinite(val)) and np.all(np.isfinite(ref)):
            return f"{key}: holds NaN or inf, the reference does not"
        rel, diff, scale = _rel_err(val, ref, norm)
        if rel > tol:
            at = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
            worst = (f"max |got - reference| = {float(diff.max()):.3g} at index {tuple(int(i) for i in at)} "
                     f"(got {float(val[at]):.6g}, reference {float(ref[at]):.6g})")
            if norm:
                return (f"{key}: ||got - reference|| / ||reference|| = {rel:.3g} > tolerance {tol:g}; "
                        f"{worst}")
            return f"{key}: {worst}; tolerance {tol:g} x max|reference| = {tol * scale:.3g}"
    return None


def max_rel_error(got, want, norm=False):
    """The largest relative error over the outputs (as ``compare`` measures it)."""
    return max((_rel_err(np.asarray(got[k]), np.asarray(ref), norm)[0] for k, ref in want.items()), default=0.0)


# --------------------------------------------------------------------------- parameter helpers


def _ints(name, value, n, positive=True, allow_zero=False):
    """An int or a tuple of n ints (a single int is repeated)."""
    if isinstance(value, str):
        try:
            value = tuple(int(v) for v in value.split(","))
        except ValueError:
            raise CaseError(f"{name}: expected {n} comma-separated integers, got {value!r}") from None
    if isinstance(value, (int, np.integer)):
        value = (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        value = value * n
    if len(value) != n:
        raise CaseError(f"{name}: expected 1 or {n} integers, got {len(value)} ({value})")
    for v in value:
        if allow_zero and v < 0 or not allow_zero and positive and v <= 0:
            raise CaseError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")
    return value


def _need(p, names, kind, how):
    missing = [n for n in names if n not in p]
    if missing:
        raise CaseError(f"{kind}: missing {', '.join(missing)} ({how})")


class _Kind:
    name = ""
    modes = ("fwdbwd",)
    memory_bound = False
    startup = False  # measured from fresh processes by the parent, not inside a worker
    check_calls = 1

    def normalize(self, p):
        return p

    def describe(self, p):
        return ""

    def work(self, p, mode, dtype):
        """(flops, bytes) of one call; either may be None."""
        return None, None

    def inputs(self, p, mode, rng, dtype):
        return {}

    def expected(self, p, mode, inputs):
        return [{}]


def _fmt_pair(prefix, v, default):
    if tuple(v) == default:
        return ""
    return f" {prefix}{v[0]}" if v[0] == v[1] else f" {prefix}{v[0]},{v[1]}"


# --------------------------------------------------------------------------- convolution


class Conv2d(_Kind):
    name = "conv2d"
    modes = ("fwdbwd", "fwd", "bwd-input", "bwd-weight")
    how = "--shape N,C,H,W --kernel K,R,S"

    def normalize(self, p, check_span=True):
        _need(p, ["shape", "kernel"], self.name, self.how)
        shape = _flat(p["shape"], "--shape")
        if len(shape) != 4:
            _bad_len("--shape", "N,C,H,W", p["shape"], self.name)
        N, C, H, W = _ints("--shape (N,C,H,W)", shape, 4)
        k = _flat(p["kernel"], "--kernel")
        if len(k) == 2:
            k = (k[0], k[1], k[1])
        if len(k) != 3:
            raise CaseError(f"{self.name}: --kernel is K,R,S (output channels, kernel height, width) or K,R, "
                            f"got {p['kernel']}")
        K, Rr, S = _ints("--kernel (K,R,S)", k, 3)
        stride = _ints("--stride", p.get("stride", 1), 2)
        padding = _ints("--padding", p.get("padding", 0), 2, allow_zero=True)
        dilation = _ints("--dilation", p.get("dilation", 1), 2)
        groups = int(p.get("groups", 1))
        if groups <= 0:
            raise CaseError(f"--groups must be positive, got {groups}")
        if C % groups or K % groups:
            raise CaseError(f"{self.name}: groups={groups} must divide both the input channels C={C} and the "
                            f"output channels K={K}")
        for axis, size, ks, pad, dil in (("height", H, Rr, padding[0], dilation[0]),
                                         ("width", W, S, padding[1], dilation[1])):
            if not check_span:
                break
            span = dil * (ks - 1) + 1
            if span > size + 2 * pad:
                raise CaseError(f"{self.name}: the kernel {axis} {ks} (dilated span {span}) is larger than the "
                                f"padded input {axis} {size} + 2*{pad} = {size + 2 * pad}")
        return {"shape": (N, C, H, W), "kernel": (K, Rr, S), "stride": stride, "padding": padding,
                "dilation": dilation, "groups": groups}

    def out_hw(self, p):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        return (R.conv_out_size(H, Rr, p["stride"][0], p["padding"][0], p["dilation"][0]),
                R.conv_out_size(W, S, p["stride"][1], p["padding"][1], p["dilation"][1]))

    def describe(self, p):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        k = f"{Rr}" if Rr == S else f"{Rr}x{S}"
        s = f"N={N} {C}->{K} {H}x{W} k{k}"
        s += _fmt_pair("s", p["stride"], (1, 1)) + _fmt_pair("p", p["padding"], (0, 0))
        s += _fmt_pair("d", p["dilation"], (1, 1))
        if p["groups"] != 1:
            s += f" g{p['groups']}"
        return s

    def flops_one(self, p):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        Ho, Wo = self.out_hw(p)
        return 2 * N * K * Ho * Wo * (C // p["groups"]) * Rr * S

    def work(self, p, mode, dtype):
        return self.flops_one(p) * (3 if mode == "fwdbwd" else 1), None

    def inputs(self, p, mode, rng, dtype):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        Ho, Wo = self.out_hw(p)
        fan = (C // p["groups"]) * Rr * S
        return {"x": rng.standard_normal((N, C, H, W)).astype(dtype),
                "w": (rng.standard_normal((K, C // p["groups"], Rr, S)) / np.sqrt(fan)).astype(dtype),
                "b": rng.standard_normal(K).astype(dtype),
                "gy": rng.standard_normal((N, K, Ho, Wo)).astype(dtype)}

    def expected(self, p, mode, a):
        geo = (p["stride"], p["padding"], p["dilation"], p["groups"])
        out = {}
        if mode in ("fwd", "fwdbwd"):
            out["y"] = R.conv2d(a["x"], a["w"], a["b"], *geo)
        if mode in ("bwd-input", "fwdbwd"):
            out["dx"] = R.conv2d_input_grad(a["gy"], a["w"], a["x"].shape, *geo)
        if mode in ("bwd-weight", "fwdbwd"):
            out["dw"] = R.conv2d_weight_grad(a["x"], a["gy"], a["w"].shape, *geo)
        if mode == "fwdbwd":
            out["db"] = a["gy"].sum(axis=(0, 2, 3))
        return [out]


def _flat(v, name="a shape"):
    if isinstance(v, str):
        try:
            return tuple(int(x) for x in v.split(","))
        except ValueError:
            raise CaseError(f"{name}: expected comma-separated integers, got {v!r}") from None
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(v)


def _bad_len(flag, fmt, value, kind):
    raise CaseError(f"{kind}: {flag} must be {fmt} ({len(fmt.split(','))} integers), got {value!r}")


class Conv1d(Conv2d):
    """conv1d, measured and checked as the 2-D case with unit height."""
    name = "conv1d"
    modes = ("fwdbwd", "fwd")
    how = "--shape N,C,L --kernel K,R"

    def normalize(self, p):
        _need(p, ["shape", "kernel"], self.name, self.how)
        shape, kernel = _flat(p["shape"]), _flat(p["kernel"])
        if len(shape) != 3:
            _bad_len("--shape", "N,C,L", p["shape"], self.name)
        if len(kernel) != 2:
            _bad_len("--kernel", "K,R", p["kernel"], self.name)
        one = lambda name: _flat(p.get(name, 0 if name == "padding" else 1))[:1]  # noqa: E731
        q = super().normalize({"shape": (shape[0], shape[1], 1, shape[2]), "kernel": (kernel[0], 1, kernel[1]),
                               "stride": (1,) + one("stride"), "padding": (0,) + one("padding"),
                               "dilation": (1,) + one("dilation"), "groups": p.get("groups", 1)})
        return q

    def describe(self, p):
        (N, C, _, L), (K, _, Rr) = p["shape"], p["kernel"]
        s = f"N={N} {C}->{K} L={L} k{Rr}"
        for pre, key, default in (("s", "stride", 1), ("p", "padding", 0), ("d", "dilation", 1)):
            if p[key][1] != default:
                s += f" {pre}{p[key][1]}"
        return s + (f" g{p['groups']}" if p["groups"] != 1 else "")

    def inputs(self, p, mode, rng, dtype):
        a = super().inputs(p, mode, rng, dtype)
        return {"x": a["x"][:, :, 0], "w": a["w"][:, :, 0], "b": a["b"], "gy": a["gy"][:, :, 0]}

    def expected(self, p, mode, a):
        a2 = {"x": a["x"][:, :, None], "w": a["w"][:, :, None], "b": a["b"], "gy": a["gy"][:, :, None]}
        out = super().expected(p, mode, a2)[0]
        return [{k: (v[:, :, 0] if v.ndim == 4 else v) for k, v in out.items()}]


class ConvTranspose2d(_Kind):
    name = "conv_transpose2d"
    modes = ("fwdbwd", "fwd")
    how = "--shape N,C_in,H,W --kernel C_out,R,S"

    def normalize(self, p):
        q = Conv2d.normalize(self, {k: v for k, v in p.items() if k != "output_padding"}, check_span=False)
        op = _ints("--output-padding", p.get("output_padding", 0), 2, allow_zero=True)
        for o, s, d in zip(op, q["stride"], q["dilation"]):
            if o >= s and o >= d:
                raise CaseError(f"conv_transpose2d: output_padding {op} must be smaller than the stride "
                                f"{q['stride']} or the dilation {q['dilation']}")
        q["output_padding"] = op
        if min(self.out_hw(q)) <= 0:
            raise CaseError(f"conv_transpose2d: the output would be empty ({self.out_hw(q)}); reduce --padding")
        return q

    def out_hw(self, p):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        return tuple(R.conv_transpose_out_size(size, k, p["stride"][i], p["padding"][i], p["output_padding"][i],
                                               p["dilation"][i]) for i, (size, k) in enumerate(((H, Rr), (W, S))))

    def describe(self, p):
        s = Conv2d.describe(self, p)
        return s + _fmt_pair("op", p["output_padding"], (0, 0))

    def work(self, p, mode, dtype):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        f = 2 * N * C * H * W * (K // p["groups"]) * Rr * S
        return f * (3 if mode == "fwdbwd" else 1), None

    def inputs(self, p, mode, rng, dtype):
        (N, C, H, W), (K, Rr, S) = p["shape"], p["kernel"]
        Ho, Wo = self.out_hw(p)
        fan = C * Rr * S // p["groups"]
        return {"x": rng.standard_normal((N, C, H, W)).astype(dtype),
                "w": (rng.standard_normal((C, K // p["groups"], Rr, S)) / np.sqrt(fan)).astype(dtype),
                "b": rng.standard_normal(K).astype(dtype),
                "gy": rng.standard_normal((N, K, Ho, Wo)).astype(dtype)}

    def expected(self, p, mode, a):
        y = R.conv_transpose2d(a["x"], a["w"], a["b"], p["stride"], p["padding"], p["output_padding"],
                               p["groups"], p["dilation"])
        out = {"y": y}
        if mode == "fwdbwd":
            out["dx"], out["dw"], out["db"] = R.conv_transpose2d_grads(
                a["x"], a["w"], a["gy"], p["stride"], p["padding"], p["groups"], p["dilation"])
        return [out]


# --------------------------------------------------------------------------- pooling


class Pool2d(_Kind):
    modes = ("fwdbwd", "fwd")
    memory_bound = True
    how = "--shape N,C,H,W --kernel R,S"
    one_d = False

    def __init__(self, name, op):
        self.name, self.op = name, op

    def normalize(self, p):
        _need(p, ["shape", "kernel"], self.name, self.how if not self.one_d else "--shape N,C,L --kernel R")
        shape = _flat(p["shape"], "--shape")
        n = 3 if self.one_d else 4
        if len(shape) != n:
            _bad_len("--shape", "N,C,L" if self.one_d else "N,C,H,W", p["shape"], self.name)
        shape = _ints("--shape", shape, n)
        m = 1 if self.one_d else 2
        kernel = _ints("--kernel", _flat(p["kernel"]), m)
        stride = _ints("--stride", _flat(p["stride"]) if p.get("stride") is not None else kernel, m)
        padding = _ints("--padding", p.get("padding", 0), m, allow_zero=True)
        for k, pad in zip(kernel, padding):
            if 2 * pad > k:
                raise CaseError(f"{self.name}: padding {padding} must be at most half the kernel {kernel}")
        if self.one_d:
            shape, kernel, stride, padding = (shape[0], shape[1], 1, shape[2]), (1,) + kernel, (1,) + stride, \
                (0,) + padding
        q = {"shape": shape, "kernel": kernel, "stride": stride, "padding": padding,
             "ceil_mode": bool(p.get("ceil_mode", False))}
        if self.op == "avg":
            q["count_include_pad"] = bool(p.get("count_include_pad", True))
        Ho, Wo = self.out_hw(q)
        if Ho <= 0 or Wo <= 0:
            raise CaseError(f"{self.name}: kernel {kernel[-m:]} is larger than the padded input {shape[2 if m == 2 else 3:]}")
        return q

    def out_hw(self, p):
        (N, C, H, W) = p["shape"]
        return (R.pool_out_size(H, p["kernel"][0], p["stride"][0], p["padding"][0], p["ceil_mode"]),
                R.pool_out_size(W, p["kernel"][1], p["stride"][1], p["padding"][1], p["ceil_mode"]))

    def describe(self, p):
        N, C, H, W = p["shape"]
        if self.one_d:
            s = f"N={N} C={C} L={W} k{p['kernel'][1]}"
            s += f" s{p['stride'][1]}" if p["stride"][1] != p["kernel"][1] else ""
            s += f" p{p['padding'][1]}" if p["padding"][1] else ""
        else:
            k = p["kernel"]
            s = f"N={N} C={C} {H}x{W} k{k[0] if k[0] == k[1] else f'{k[0]}x{k[1]}'}"
            s += _fmt_pair("s", p["stride"], tuple(k)) + _fmt_pair("p", p["padding"], (0, 0))
        if p["ceil_mode"]:
            s += " ceil"
        if p.get("count_include_pad") is False:
            s += " excl-pad"
        return s

    def work(self, p, mode, dtype):
        N, C, H, W = p["shape"]
        Ho, Wo = self.out_hw(p)
        nx, ny = N * C * H * W, N * C * Ho * Wo
        return None, (nx + ny) * (2 if mode == "fwdbwd" else 1) * np.dtype(dtype).itemsize

    def inputs(self, p, mode, rng, dtype):
        N, C, H, W = p["shape"]
        Ho, Wo = self.out_hw(p)
        shp, gshp = ((N, C, W), (N, C, Wo)) if self.one_d else ((N, C, H, W), (N, C, Ho, Wo))
        return {"x": rng.standard_normal(shp).astype(dtype), "gy": rng.standard_normal(gshp).astype(dtype)}

    def expected(self, p, mode, a):
        x, gy = a["x"], a["gy"]
        if self.one_d:
            x, gy = x[:, :, None], gy[:, :, None]
        geo = (p["kernel"], p["stride"], p["padding"], p["ceil_mode"])
        if self.op == "max":
            y, idx = R.max_pool2d(x, *geo)
            dx = R.max_pool2d_backward(gy, idx, x.shape) if mode == "fwdbwd" else None
        else:
            y = R.avg_pool2d(x, *geo, p["count_include_pad"])
            dx = R.avg_pool2d_backward(gy, x.shape, *geo, p["count_include_pad"]) if mode == "fwdbwd" else None
        out = {"y": y} if dx is None else {"y": y, "dx": dx}
        if self.one_d:
            out = {k: v[:, :, 0] for k, v in out.items()}
        return [out]


class Pool1d(Pool2d):
    one_d = True


class AdaptiveAvgPool2d(_Kind):
    name = "adaptive_avg_pool2d"
    modes = ("fwdbwd", "fwd")
    memory_bound = True

    def normalize(self, p):
        _need(p, ["shape"], self.name, "--shape N,C,H,W --output OH,OW")
        shape = _flat(p["shape"], "--shape")
        if len(shape) != 4:
            _bad_len("--shape", "N,C,H,W", p["shape"], self.name)
        shape = _ints("--shape", shape, 4)
        out = _ints("--output", p.get("output", 1), 2)
        return {"shape": shape, "output": out}

    def describe(self, p):
        N, C, H, W = p["shape"]
        return f"N={N} C={C} {H}x{W}->{p['output'][0]}x{p['output'][1]}"

    def work(self, p, mode, dtype):
        N, C, H, W = p["shape"]
        n = N * C * (H * W + p["output"][0] * p["output"][1])
        return None, n * (2 if mode == "fwdbwd" else 1) * np.dtype(dtype).itemsize

    def inputs(self, p, mode, rng, dtype):
        N, C, H, W = p["shape"]
        return {"x": rng.standard_normal(p["shape"]).astype(dtype),
                "gy": rng.standard_normal((N, C) + p["output"]).astype(dtype)}

    def expected(self, p, mode, a):
        out = {"y": R.adaptive_avg_pool2d(a["x"], p["output"])}
        if mode == "fwdbwd":
            out["dx"] = R.adaptive_avg_pool2d_backward(a["gy"], a["x"].shape)
        return [out]


# --------------------------------------------------------------------------- dense ops


class Matmul(_Kind):
    name = "matmul"
    modes = ("fwdbwd", "fwd")

    def normalize(self, p):
        _need(p, ["shape"], self.name, "--shape M,K,N for (M,K) @ (K,N)")
        shape = _flat(p["shape"], "--shape")
        if len(shape) != 3:
            _bad_len("--shape", "M,K,N", p["shape"], self.name)
        return {"shape": _ints("--shape", shape, 3)}

    def describe(self, p):
        M_, K, N = p["shape"]
        return f"{M_}x{K} @ {K}x{N}"

    def work(self, p, mode, dtype):
        M_, K, N = p["shape"]
        return 2 * M_ * K * N * (3 if mode == "fwdbwd" else 1), None

    def inputs(self, p, mode, rng, dtype):
        M_, K, N = p["shape"]
        return {"a": rng.standard_normal((M_, K)).astype(dtype), "b": rng.standard_normal((K, N)).astype(dtype),
                "gy": rng.standard_normal((M_, N)).astype(dtype)}

    def expected(self, p, mode, a):
        out = {"y": a["a"] @ a["b"]}
        if mode == "fwdbwd":
            out["da"] = a["gy"] @ a["b"].T
            out["db"] = a["a"].T @ a["gy"]
        return [out]


def _shape_param(kind, p, how):
    _need(p, ["shape"], kind, how)
    shape = _flat(p["shape"], "--shape")
    if not shape:
        raise CaseError(f"{kind}: --shape needs at least one dimension")
    return _ints("--shape", shape, len(shape))


class Elementwise(_Kind):
    name = "elementwise"
    modes = ("fwdbwd", "fwd")
    memory_bound = True

    def normalize(self, p):
        op = p.get("op", "mul")
        if op not in R.ELEMENTWISE:
            raise CaseError(f"elementwise: unknown op {op!r}; known: {', '.join(R.ELEMENTWISE)}")
        return {"op": op, "shape": _shape_param(self.name, p, "--shape D0,D1,...")}

    def describe(self, p):
        return f"{p['op']} {'x'.join(map(str, p['shape']))}"

    def work(self, p, mode, dtype):
        arity = R.ELEMENTWISE[p["op"]][0]
        n = int(np.prod(p["shape"])) * np.dtype(dtype).itemsize
        return None, n * ((arity + 1) + ((1 + 2 * arity) if mode == "fwdbwd" else 0))

    def inputs(self, p, mode, rng, dtype):
        arity = R.ELEMENTWISE[p["op"]][0]
        a = {"x": rng.standard_normal(p["shape"]).astype(dtype), "gy": rng.standard_normal(p["shape"]).astype(dtype)}
        if arity == 2:
            a["w"] = rng.standard_normal(p["shape"]).astype(dtype)
        return a

    def expected(self, p, mode, a):
        arity, fwd, bwd = R.ELEMENTWISE[p["op"]]
        args = (a["x"], a["w"]) if arity == 2 else (a["x"],)
        y = fwd(*args)
        out = {"y": y}
        if mode == "fwdbwd":
            grads = bwd(a["gy"], y, *args)
            out["dx"] = grads[0]
            if arity == 2:
                out["dw"] = grads[1]
        return [out]


class Overhead(Elementwise):
    """Per-op overhead: ``y = x * w; y.backward(g)`` on tiny tensors (gradients accumulate in .grad).

    ``profiler=True`` runs it with the framework's profiler recording (ours:
    ``autograd_core.profiler.profile``, PyTorch: ``torch.profiler.profile``).
    """
    name = "overhead"
    modes = ("fwdbwd",)

    def normalize(self, p):
        p = dict(p)
        p.setdefault("shape", (8, 8))
        p.setdefault("op", "mul")
        profiler = bool(p.pop("profiler", False))
        q = super().normalize(p)
        if profiler:
            q["profiler"] = True
        return q

    def describe(self, p):
        return super().describe(p) + (" profiler on" if p.get("profiler") else "")

    def work(self, p, mode, dtype):
        return None, None


class Reduction(_Kind):
    name = "reduction"
    modes = ("fwdbwd", "fwd")
    memory_bound = True

    def normalize(self, p):
        op = p.get("op", "sum")
        if op not in R.REDUCTIONS:
            raise CaseError(f"reduction: unknown op {op!r}; known: {', '.join(R.REDUCTIONS)}")
        shape = _shape_param(self.name, p, "--shape D0,D1,...")
        dim = int(p.get("dim", -1))
        if not -len(shape) <= dim < len(shape):
            raise CaseError(f"reduction: dim {dim} is out of range for a {len(shape)}-d shape")
        return {"op": op, "shape": shape, "dim": dim}

    def describe(self, p):
        return f"{p['op']} {'x'.join(map(str, p['shape']))} dim={p['dim']}"

    def _yshape(self, p):
        if p["op"] in ("softmax", "log_softmax"):
            return p["shape"]
        d = p["dim"] % len(p["shape"])
        return p["shape"][:d] + p["shape"][d + 1:]

    def work(self, p, mode, dtype):
        nx, ny = int(np.prod(p["shape"])), int(np.prod(self._yshape(p)))
        return None, (nx + ny) * (2 if mode == "fwdbwd" else 1) * np.dtype(dtype).itemsize

    def inputs(self, p, mode, rng, dtype):
        return {"x": rng.standard_normal(p["shape"]).astype(dtype),
                "gy": rng.standard_normal(self._yshape(p)).astype(dtype)}

    def expected(self, p, mode, a):
        fwd, bwd = R.REDUCTIONS[p["op"]]
        y = fwd(a["x"], p["dim"])
        out = {"y": y}
        if mode == "fwdbwd":
            out["dx"] = bwd(a["gy"], y, a["x"], p["dim"])
        return [out]


class CrossEntropy(_Kind):
    """``cross_entropy(logits, labels)`` (mean over the batch) and its gradient for (N, C) logits."""
    name = "cross_entropy"
    modes = ("fwdbwd", "fwd")
    memory_bound = True

    def normalize(self, p):
        _need(p, ["shape"], self.name, "--shape N,C")
        shape = _flat(p["shape"], "--shape")
        if len(shape) != 2:
            _bad_len("--shape", "N,C", p["shape"], self.name)
        return {"shape": _ints("--shape", shape, 2)}

    def describe(self, p):
        return f"{p['shape'][0]}x{p['shape'][1]}"

    def work(self, p, mode, dtype):
        n = int(np.prod(p["shape"])) * np.dtype(dtype).itemsize
        return None, n * (2 if mode == "fwdbwd" else 1)

    def inputs(self, p, mode, rng, dtype):
        N, C = p["shape"]
        return {"x": (2 * rng.standard_normal((N, C))).astype(dtype), "labels": rng.integers(0, C, N),
                "gy": np.array(1.0, dtype)}

    def expected(self, p, mode, a):
        x, t = a["x"], a["labels"]
        n = x.shape[0]
        logp = R._log_softmax(x, 1)
        out = {"y": np.asarray(-logp[np.arange(n), t].mean())}
        if mode == "fwdbwd":
            g = np.exp(logp)
            g[np.arange(n), t] -= 1
            out["dx"] = g / n
        return [out]


ADAM = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


def adam_reference(params, grads, state, t):
    """One Adam step (PyTorch's rule) on lists of arrays, in place; ``state`` holds m and v."""
    b1, b2 = ADAM["betas"]
    for k, (p, g) in enumerate(zip(params, grads)):
        m, v = state.setdefault(k, (np.zeros_like(p), np.zeros_like(p)))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        state[k] = (m, v)
        p -= ADAM["lr"] * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + ADAM["eps"])


class OptimStep(_Kind):
    """One optimizer step (Adam, lr 1e-3) over ``numel`` parameters split into ``tensors`` tensors."""
    name = "optim_step"
    modes = ("step",)
    memory_bound = True

    def normalize(self, p):
        opt = p.get("optimizer", "adam")
        if opt != "adam":
            raise CaseError(f"optim_step: only --optimizer adam is measured, got {opt!r}")
        numel = int(p.get("numel", 1 << 20))
        tensors = int(p.get("tensors", 8))
        if numel <= 0 or tensors <= 0 or tensors > numel:
            raise CaseError(f"optim_step: need 0 < tensors <= numel, got numel={numel}, tensors={tensors}")
        return {"optimizer": opt, "numel": numel, "tensors": tensors}

    def describe(self, p):
        return f"{p['optimizer']} {p['numel']} params in {p['tensors']} tensors"

    def sizes(self, p):
        base, extra = divmod(p["numel"], p["tensors"])
        return [base + (1 if i < extra else 0) for i in range(p["tensors"])]

    def work(self, p, mode, dtype):
        return None, p["numel"] * np.dtype(dtype).itemsize * 7  # read p, g, m, v; write p, m, v

    def inputs(self, p, mode, rng, dtype):
        a = {}
        for i, n in enumerate(self.sizes(p)):
            a[f"p{i}"] = rng.standard_normal(n).astype(dtype)
            a[f"g{i}"] = rng.standard_normal(n).astype(dtype)
        return a

    def expected(self, p, mode, a):
        k = p["tensors"]
        params = [a[f"p{i}"].copy() for i in range(k)]
        adam_reference(params, [a[f"g{i}"] for i in range(k)], {}, 1)
        return [{f"p{i}": params[i] for i in range(k)}]


FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def fashion_mnist_train(n):
    """The first ``n`` Fashion-MNIST training images, normalised, and labels; None if the files are missing."""
    import gzip
    import os
    d = os.environ.get("FASHION_MNIST_DIR") or FASHION_MNIST_DIR
    try:
        with gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz")) as f:
            img = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
        with gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz")) as f:
            lab = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    except OSError:
        return None
    if len(img) < n:
        return None
    x = (img[:n].astype(np.float32) / 255 - 0.286) / 0.353
    return x, lab[:n]


class TrainEpoch(_Kind):
    """One epoch of training: shuffled mini-batches, cross-entropy, backward, Adam (lr 1e-3).

    The images are Fashion-MNIST's training set when its files are found
    (``$FASHION_MNIST_DIR``, else Debian's path), otherwise random images of
    the same shape (the same work). Checked: the first batch's loss against
    the numpy model's forward (the optimizer is checked by ``optim_step``).
    """
    name = "train_epoch"
    modes = ("epoch",)
    min_repeats = 3

    def normalize(self, p):
        model = p.get("model", "lenet5")
        if model not in M.MODELS:
            raise CaseError(f"train_epoch: unknown model {model!r}; known: {', '.join(M.MODELS)}")
        batch, images = int(p.get("batch", 64)), int(p.get("images", 60000))
        if batch <= 0 or images < batch:
            raise CaseError(f"train_epoch: need 0 < batch <= images, got batch={batch}, images={images}")
        return {"model": model, "batch": batch, "images": images, "optimizer": "adam"}

    def describe(self, p):
        return f"{p['model']} {p['images']} images batch={p['batch']} adam"

    def work(self, p, mode, dtype):
        return M.step_flops(M.MODELS[p["model"]], p["batch"]) * (p["images"] // p["batch"]), None

    def inputs(self, p, mode, rng, dtype):
        spec = M.MODELS[p["model"]]
        n = p["images"]
        data = fashion_mnist_train(n) if tuple(spec["input"]) == (1, 28, 28) else None
        if data is None:
            data = (rng.standard_normal((n,) + tuple(spec["input"])).astype(np.float32),
                    rng.integers(0, spec["classes"], n))
        a = {"X": data[0].astype(dtype), "Y": data[1].astype(np.int64), "perm": rng.permutation(n)}
        a.update({"param:" + k: v for k, v in M.init_params(spec, rng, dtype).items()})
        return a

    def expected(self, p, mode, a):
        params = {k[6:]: v for k, v in a.items() if k.startswith("param:")}
        model = M.NumpyModel(M.MODELS[p["model"]], params)
        idx = a["perm"][:p["batch"]]
        loss, _ = model.loss_and_grads(a["X"][idx], a["Y"][idx])
        return [{"first_loss": np.asarray(loss)}]


# --------------------------------------------------------------------------- training steps


class TrainStep(_Kind):
    """One SGD-with-momentum step (zero_grad, forward, cross-entropy, backward, step) of a model."""
    name = "train_step"
    modes = ("step",)
    check_calls = 2

    def normalize(self, p):
        model = p.get("model", "lenet5")
        if model not in M.MODELS:
            raise CaseError(f"train_step: unknown model {model!r}; known: {', '.join(M.MODELS)}")
        batch = int(p.get("batch", 64))
        if batch <= 0:
            raise CaseError(f"train_step: --batch must be positive, got {batch}")
        return {"model": model, "batch": batch}

    def describe(self, p):
        return f"{p['model']} batch={p['batch']} sgd-momentum"

    def work(self, p, mode, dtype):
        return M.step_flops(M.MODELS[p["model"]], p["batch"]), None

    def inputs(self, p, mode, rng, dtype):
        spec = M.MODELS[p["model"]]
        a = {"x": rng.standard_normal((p["batch"],) + tuple(spec["input"])).astype(dtype),
             "labels": rng.integers(0, spec["classes"], p["batch"]).astype(np.int64)}
        a.update({"param:" + k: v for k, v in M.init_params(spec, rng, dtype).items()})
        return a

    def expected(self, p, mode, a):
        params = {k[6:]: v for k, v in a.items() if k.startswith("param:")}
        model = M.NumpyModel(M.MODELS[p["model"]], params)
        out = []
        for _ in range(self.check_calls):
            loss = model.step(a["x"], a["labels"])
            out.append({"loss": np.asarray(loss)})
        out[-1].update({"delta:" + k: model.params[k] - params[k] for k in params})
        return out


# --------------------------------------------------------------------------- startup (fresh processes)


class Import(_Kind):
    """Time of ``import <package>`` in a fresh interpreter (autograd_core, torch, numpy)."""
    name = "import"
    modes = ("import",)
    startup = True

    def describe(self, p):
        return "fresh process"


class FirstConv2d(Conv2d):
    """Process start to the first conv2d result, with a cold (empty) or warm compiled-kernel cache."""
    name = "first_conv2d"
    modes = ("warm", "cold")
    startup = True

    def work(self, p, mode, dtype):
        return None, None


KINDS = {k.name: k for k in (
    Conv2d(), Conv1d(), ConvTranspose2d(),
    Pool2d("max_pool2d", "max"), Pool2d("avg_pool2d", "avg"),
    Pool1d("max_pool1d", "max"), Pool1d("avg_pool1d", "avg"), AdaptiveAvgPool2d(),
    Matmul(), Elementwise(), Overhead(), Reduction(), CrossEntropy(), OptimStep(), TrainEpoch(), TrainStep(),
    Import(), FirstConv2d())}

# op names accepted by --op that are parameters of a kind
OP_ALIASES = {**{op: ("elementwise", op) for op in R.ELEMENTWISE},
              **{op: ("reduction", op) for op in R.REDUCTIONS}}
