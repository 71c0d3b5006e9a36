"""Case builders shared by the frameworks that speak PyTorch's API (ours and torch).

Both are driven through a small adapter, so the very same code (same calls,
same keyword arguments, same autograd pattern) is timed on both sides:

- ``T(array, requires_grad=False)``: a tensor from an ndarray;
- ``A(tensor)``: an ndarray from a tensor;
- ``grad(outputs, inputs, grad_outputs, retain_graph)``: ``autograd.grad``;
- ``op(name)``: the functional op (``conv2d``, ``max_pool2d``, ...), or raise
  ``Unavailable``;
- ``nn`` / ``optim``: the namespaces (or raise ``Unavailable`` on first use);
- ``load_param(parameter, array)``: copy initial weights in place.

Autograd patterns, identical for both frameworks:

- ``fwd``: inputs that do not require grad, one call;
- ``bwd-input`` / ``bwd-weight``: the graph is built once; each call is
  ``grad(y, [x or w], [gy], retain_graph=True)``, so only that gradient's kernel
  runs (the other input does not require grad);
- ``fwdbwd``: forward, then ``grad(y, inputs, [gy])``: all input gradients;
- ``overhead``: ``y = x * w; y.backward(g)`` (gradients accumulate in ``.grad``);
- ``step``: ``zero_grad(); loss = CrossEntropyLoss()(model(x), labels);
  loss.backward(); step()`` with SGD (lr 0.01, momentum 0.9). After the
  correctness check the learning rate is set to 0 for timing: the step does
  the same work, but the model no longer memorises the one fixed batch. (It
  did within a few hundred steps: the gradients went denormal, which made
  every framework's arithmetic several times slower as the timing went on.)
"""

from __future__ import annotations

import numpy as np

from . import Unavailable
from .. import models as M

_ELEMENTWISE = {
    "add": lambda x, w: x + w,
    "mul": lambda x, w: x * w,
    "relu": lambda x: x.relu(),
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "erf": lambda x: x.erf(),
}

_REDUCTIONS = {
    "sum": lambda x, d: x.sum(dim=d),
    "mean": lambda x, d: x.mean(dim=d),
    "softmax": lambda x, d: x.softmax(dim=d),
    "log_softmax": lambda x, d: x.log_softmax(dim=d),
}


def build(ad, case, a):
    """(run, observe) for ``case`` on the framework behind adapter ``ad``."""
    kind = case.kind
    p, mode = case.p, case.mode
    if kind == "train_step":
        return _train_step(ad, case, a)
    if kind == "overhead":
        return _overhead(ad, p, a)
    if kind == "optim_step":
        return _optim_step(ad, case, a)
    if kind == "train_epoch":
        return _train_epoch(ad, case, a)

    if kind in ("conv2d", "conv1d", "conv_transpose2d"):
        fn = ad.op(kind)
        if kind == "conv2d":
            kw = dict(stride=p["stride"], padding=p["padding"], dilation=p["dilation"], groups=p["groups"])
        elif kind == "conv1d":
            kw = dict(stride=p["stride"][1], padding=p["padding"][1], dilation=p["dilation"][1], groups=p["groups"])
        else:
            kw = dict(stride=p["stride"], padding=p["padding"], output_padding=p["output_padding"],
                      groups=p["groups"], dilation=p["dilation"])
        names = ("x", "w", "b")
        call = lambda x, w, b: fn(x, w, b, **kw)  # noqa: E731
        grads_of = {"fwdbwd": (0, 1, 2), "bwd-input": (0,), "bwd-weight": (1,), "fwd": ()}[mode]
        out_names = {0: "dx", 1: "dw", 2: "db"}
    elif kind in ("max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d"):
        fn = ad.op(kind)
        one = kind.endswith("1d")
        pick = (lambda v: v[1]) if one else (lambda v: v)
        kw = dict(kernel_size=pick(p["kernel"]), stride=pick(p["stride"]), padding=pick(p["padding"]))
        if p["ceil_mode"]:
            kw["ceil_mode"] = True
        if p.get("count_include_pad") is False:
            kw["count_include_pad"] = False
        names, call = ("x",), (lambda x: fn(x, **kw))
        grads_of, out_names = ((0,) if mode == "fwdbwd" else ()), {0: "dx"}
    elif kind == "adaptive_avg_pool2d":
        fn = ad.op(kind)
        names, call = ("x",), (lambda x: fn(x, p["output"]))
        grads_of, out_names = ((0,) if mode == "fwdbwd" else ()), {0: "dx"}
    elif kind == "matmul":
        names, call = ("a", "b"), (lambda x, w: x @ w)
        grads_of, out_names = ((0, 1) if mode == "fwdbwd" else ()), {0: "da", 1: "db"}
    elif kind == "elementwise":
        f = _ELEMENTWISE[p["op"]] if p["op"] in _ELEMENTWISE else ad.op(p["op"])  # gelu: nn.functional
        names = ("x", "w") if p["op"] in ("add", "mul") else ("x",)
        call = f
        grads_of, out_names = (tuple(range(len(names))) if mode == "fwdbwd" else ()), {0: "dx", 1: "dw"}
    elif kind == "cross_entropy":
        fn = ad.op("cross_entropy")
        labels = ad.T(a["labels"])
        names, call = ("x",), (lambda x: fn(x, labels))
        grads_of, out_names = ((0,) if mode == "fwdbwd" else ()), {0: "dx"}
    elif kind == "reduction":
        f, d = _REDUCTIONS[p["op"]], p["dim"]
        names, call = ("x",), (lambda x: f(x, d))
        grads_of, out_names = ((0,) if mode == "fwdbwd" else ()), {0: "dx"}
    else:
        raise Unavailable(f"no builder for {kind}")

    ins = [ad.T(a[n], requires_grad=i in grads_of) for i, n in enumerate(names)]
    want = [ins[i] for i in grads_of]
    keys = [out_names[i] for i in grads_of]
    A = ad.A

    if mode == "fwd":
        def run():
            return call(*ins)
        return run, lambda y: {"y": A(y)}

    gy = ad.T(a["gy"])
    grad = ad.grad
    if mode in ("bwd-input", "bwd-weight"):
        y = call(*ins)

        def run():
            return grad(y, want, gy, True)
        return run, lambda gs: {k: A(g) for k, g in zip(keys, gs)}

    def run():
        y = call(*ins)
        return (y,) + tuple(grad(y, want, gy, False))

    def observe(r):
        out = {"y": A(r[0])}
        out.update({k: A(g) for k, g in zip(keys, r[1:])})
        return out
    return run, observe


def _overhead(ad, p, a):
    x = ad.T(a["x"], requires_grad=True)
    w = ad.T(a["w"], requires_grad=True)
    g = ad.T(a["gy"])
    prof = ad.start_profiler() if p.get("profiler") else None  # records until the process ends

    def run(prof=prof):
        y = x * w
        y.backward(g)
        return y
    return run, lambda y: {"y": ad.A(y), "dx": ad.A(x.grad), "dw": ad.A(w.grad)}


def _optim_step(ad, case, a):
    from ..cases import ADAM
    k = case.p["tensors"]
    params = [ad.nn.Parameter(ad.T(a[f"p{i}"])) for i in range(k)]
    for i, p in enumerate(params):
        p.grad = ad.T(a[f"g{i}"])
    opt = ad.optim.Adam(params, **ADAM)

    def run():
        opt.step()
        return params
    return run, lambda ps: {f"p{i}": ad.A(p).copy() for i, p in enumerate(ps)}


def _model(ad, case, a):
    spec = M.MODELS[case.p["model"]]
    nn = ad.nn
    missing = [f"nn.{n}" for n in M.required_nn_names(spec) if not hasattr(nn, n)]
    if missing:
        raise Unavailable(f"{case.p['model']} needs {', '.join(missing)}, not there yet")
    net = M.build_module(spec, nn)
    if case.dtype == "float64":
        net = net.double()
    named = dict(net.named_parameters())
    init = {k[6:]: v for k, v in a.items() if k.startswith("param:")}
    if set(named) != set(init):
        raise RuntimeError(f"parameter names differ from the model declaration: {sorted(named)} vs {sorted(init)}")
    for name, param in named.items():
        ad.load_param(param, init[name])
    return net, named


def _train_epoch(ad, case, a):
    """Shuffled mini-batches (one fixed permutation, the same in every framework), Adam, one epoch."""
    from ..cases import ADAM
    net, named = _model(ad, case, a)
    opt = ad.optim.Adam(list(named.values()), **ADAM)
    loss_fn = ad.nn.CrossEntropyLoss()
    X, Y, perm, batch = a["X"], a["Y"], a["perm"], case.p["batch"]

    def run():
        first = None
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            xb, yb = ad.T(X[idx]), ad.T(Y[idx])
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            if first is None:
                first = loss
        return first
    return run, lambda loss: {"first_loss": np.asarray(ad.A(loss))}


def _train_step(ad, case, a):
    nn, optim = ad.nn, ad.optim
    if not hasattr(optim, "SGD"):
        raise Unavailable(f"{case.p['model']} needs optim.SGD, not there yet")
    net, named = _model(ad, case, a)
    init = {k[6:]: v for k, v in a.items() if k.startswith("param:")}
    opt = optim.SGD(list(named.values()), lr=M.LR, momentum=M.MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    x = ad.T(a["x"])
    labels = ad.T(a["labels"])

    def run():
        opt.zero_grad()
        loss = loss_fn(net(x), labels)
        loss.backward()
        opt.step()
        return loss

    def freeze():
        for group in opt.param_groups:
            group["lr"] = 0.0

    run.before_timing = freeze

    def observe(loss):
        out = {"loss": np.asarray(ad.A(loss))}
        out.update({"delta:" + k: ad.A(v) - init[k] for k, v in named.items()})
        return out
    return run, observe
