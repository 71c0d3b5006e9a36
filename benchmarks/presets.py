"""Named sets of cases: ``goals`` (the default), ``lenet5``, ``resnet-cifar``, ``step``, ``tiny``, ``all``.

- ``goals``: exactly the cases with speed goals in the issues (conv2d and
  max-pool kernels against PyTorch, LeNet-5 training steps, per-op overhead,
  import time, process start to the first conv2d result);
- ``lenet5``: every kernel of LeNet-5 at batch 64 in every mode, its training
  step at batches 1, 64 and 256, and the startup cases;
- ``resnet-cifar``: CIFAR-sized (32x32) convolutions and pooling at batch 64,
  depthwise, conv1d, conv_transpose2d, and a small ResNet's training step;
- ``step``: issue 13's cases (ResNet-8/20 steps, softmax, cross-entropy,
  sums, the residual add, global average pooling, matmul, an Adam step, the
  LeNet-5 steps and an Adam epoch), each with its goal against PyTorch;
- ``tiny``: every op at tiny shapes (a smoke test: seconds, not minutes);
- ``all``: the union of the above except ``tiny``.
"""

from __future__ import annotations

from .cases import make_case


def _conv(shape, kernel, mode="fwdbwd", label="", goal=None, **kw):
    return make_case("conv2d", mode, shape=shape, kernel=kernel, label=label, goal=goal, **kw)


def _vs_torch(r):
    return {"max_ratio": r, "vs": "torch"}


LENET_C1 = dict(shape=(64, 1, 28, 28), kernel=(6, 5, 5), padding=2)
LENET_C3 = dict(shape=(64, 6, 14, 14), kernel=(16, 5, 5))


def goals():
    return [
        _conv(label="LeNet C1", goal=_vs_torch(0.5), **LENET_C1),
        _conv(label="LeNet C3", goal=_vs_torch(1.0), **LENET_C3),
        _conv((64, 64, 32, 32), (64, 3, 3), padding=1, label="64->64 k3", goal=_vs_torch(1.2)),
        _conv((64, 64, 32, 32), (128, 3, 3), stride=2, padding=1, label="64->128 k3 s2", goal=_vs_torch(1.2)),
        _conv((64, 3, 32, 32), (32, 3, 3), padding=1, label="3->32 k3", goal=_vs_torch(0.5)),
        make_case("max_pool2d", shape=(64, 64, 32, 32), kernel=2, stride=2, label="max-pool", goal=_vs_torch(0.5)),
        make_case("train_step", model="lenet5", batch=64, label="LeNet-5 step", goal=_vs_torch(1.0)),
        make_case("train_step", model="lenet5", batch=1, label="LeNet-5 step", goal=_vs_torch(1.0)),
        make_case("train_step", model="lenet5", batch=256, label="LeNet-5 step", goal=_vs_torch(1.0)),
        make_case("overhead", shape=(8, 8), label="per-op overhead", goal=_vs_torch(1.0)),
        make_case("import", label="import", goal={"max_seconds": 0.5}),
        make_case("first_conv2d", "warm", label="start to 1st conv2d", goal={"max_seconds": 1.0}, **LENET_C1),
        make_case("first_conv2d", "cold", label="start to 1st conv2d", **LENET_C1),
    ]


def lenet5():
    cases = []
    for label, conv in (("LeNet C1", LENET_C1), ("LeNet C3", LENET_C3)):
        for mode in ("fwd", "bwd-input", "bwd-weight", "fwdbwd"):
            cases.append(_conv(mode=mode, label=label, **conv))
    cases += [
        make_case("max_pool2d", shape=(64, 6, 28, 28), kernel=2, label="LeNet S2"),
        make_case("max_pool2d", shape=(64, 16, 10, 10), kernel=2, label="LeNet S4"),
        make_case("matmul", shape=(64, 400, 120), label="LeNet F5"),
        make_case("elementwise", op="relu", shape=(64, 6, 28, 28), label="LeNet ReLU"),
        make_case("reduction", op="log_softmax", shape=(64, 10), dim=1, label="LeNet loss"),
        make_case("overhead", shape=(8, 8), label="per-op overhead"),
        make_case("overhead", shape=(8, 8), profiler=True, label="per-op overhead, profiler on"),
    ]
    cases += [make_case("train_step", model="lenet5", batch=b, label="LeNet-5 step") for b in (1, 64, 256)]
    cases += [make_case("import", label="import"),
              make_case("first_conv2d", "warm", label="start to 1st conv2d", **LENET_C1),
              make_case("first_conv2d", "cold", label="start to 1st conv2d", **LENET_C1)]
    return cases


def resnet_cifar():
    cases = [_conv((64, 3, 32, 32), (32, 3, 3), padding=1, label="3->32 k3")]
    for mode in ("fwd", "bwd-input", "bwd-weight", "fwdbwd"):
        cases.append(_conv((64, 64, 32, 32), (64, 3, 3), mode=mode, padding=1, label="64->64 k3"))
    cases += [
        _conv((64, 64, 32, 32), (128, 3, 3), stride=2, padding=1, label="64->128 k3 s2"),
        _conv((64, 16, 32, 32), (16, 3, 3), padding=1, label="ResNet-8 layer1"),
        _conv((64, 32, 16, 16), (32, 3, 3), padding=1, label="ResNet stage 2"),
        _conv((64, 16, 32, 32), (32, 1, 1), stride=2, label="1x1 downsample"),
        _conv((64, 64, 32, 32), (64, 3, 3), padding=1, groups=64, label="depthwise k3"),
        _conv((64, 64, 32, 32), (64, 3, 3), padding=1, groups=4, label="grouped k3"),
        _conv((64, 32, 32, 32), (32, 3, 3), padding=2, dilation=2, label="dilated k3"),
        make_case("conv1d", shape=(64, 64, 256), kernel=(64, 3), padding=1, label="conv1d"),
        make_case("conv_transpose2d", shape=(64, 64, 16, 16), kernel=(32, 4, 4), stride=2, padding=1,
                  label="upsample x2"),
        make_case("max_pool2d", shape=(64, 64, 32, 32), kernel=2, stride=2, label="max-pool"),
        make_case("max_pool2d", shape=(64, 64, 32, 32), kernel=3, stride=2, padding=1, label="overlapping"),
        make_case("avg_pool2d", shape=(64, 64, 32, 32), kernel=2, stride=2, label="avg-pool"),
        make_case("max_pool1d", shape=(64, 64, 256), kernel=2, label="max-pool 1d"),
        make_case("avg_pool1d", shape=(64, 64, 256), kernel=3, stride=2, padding=1, label="avg-pool 1d"),
        make_case("adaptive_avg_pool2d", shape=(64, 64, 8, 8), output=1, label="global avg-pool"),
        make_case("matmul", shape=(512, 512, 512)),
        make_case("elementwise", op="relu", shape=(64, 64, 32, 32)),
        make_case("elementwise", op="add", shape=(64, 64, 32, 32), label="residual add"),
        make_case("reduction", op="sum", shape=(4096, 1024)),
        make_case("reduction", op="softmax", shape=(4096, 1024)),
    ]
    cases += [make_case("train_step", model="resnet8", batch=b, label="ResNet-8 step") for b in (32, 128)]
    cases += [make_case("train_step", model="resnet20", batch=b, label="ResNet-20 step") for b in (32, 128)]
    return cases


def step():
    """Issue 13's cases: the generic ops, the optimizer, a LeNet-5 epoch and the ResNet steps."""
    return [
        make_case("train_step", model="resnet8", batch=32, label="ResNet-8 step", goal=_vs_torch(0.9)),
        make_case("train_step", model="resnet20", batch=32, label="ResNet-20 step", goal=_vs_torch(0.9)),
        make_case("train_step", model="resnet20", batch=128, label="ResNet-20 step", goal=_vs_torch(0.9)),
        make_case("reduction", op="softmax", shape=(4096, 1024), label="softmax rows", goal=_vs_torch(1.0)),
        make_case("cross_entropy", shape=(4096, 1024), label="cross_entropy", goal=_vs_torch(1.0)),
        make_case("reduction", op="sum", shape=(4096, 1024), label="sum over rows", goal=_vs_torch(1.0)),
        make_case("elementwise", op="add", shape=(64, 64, 32, 32), label="residual add", goal=_vs_torch(1.0)),
        make_case("adaptive_avg_pool2d", shape=(128, 64, 8, 8), output=1, label="global avg-pool",
                  goal=_vs_torch(1.0)),
        make_case("matmul", shape=(512, 512, 512), label="matmul", goal=_vs_torch(1.0)),
        make_case("optim_step", numel=1 << 20, tensors=8, label="Adam step", goal=_vs_torch(1.0)),
        make_case("train_step", model="lenet5", batch=1, label="LeNet-5 step", goal=_vs_torch(1.0)),
        make_case("train_step", model="lenet5", batch=64, label="LeNet-5 step", goal=_vs_torch(1.0)),
        make_case("train_step", model="lenet5", batch=256, label="LeNet-5 step", goal=_vs_torch(1.0)),
        make_case("train_epoch", model="lenet5", batch=64, label="LeNet-5 Adam epoch", goal=_vs_torch(1.0)),
    ]


def tiny():
    c = dict(shape=(2, 3, 8, 8), kernel=(4, 3, 3), padding=1)
    cases = [_conv(mode=m, **c) for m in ("fwd", "bwd-input", "bwd-weight", "fwdbwd")]
    cases += [
        _conv((2, 4, 9, 9), (4, 3, 3), stride=2, padding=1, dilation=2, groups=2),
        make_case("conv1d", shape=(2, 3, 16), kernel=(4, 3), padding=1),
        make_case("conv_transpose2d", shape=(2, 4, 5, 5), kernel=(3, 4, 4), stride=2, padding=1),
        make_case("max_pool2d", shape=(2, 3, 8, 8), kernel=2),
        make_case("max_pool2d", shape=(2, 3, 9, 9), kernel=3, stride=2, padding=1, ceil_mode=True),
        make_case("avg_pool2d", shape=(2, 3, 8, 8), kernel=2),
        make_case("max_pool1d", shape=(2, 3, 16), kernel=2),
        make_case("avg_pool1d", shape=(2, 3, 16), kernel=3, stride=2, padding=1),
        make_case("adaptive_avg_pool2d", shape=(2, 3, 8, 8), output=(1, 1)),
        make_case("matmul", shape=(16, 32, 8)),
        make_case("elementwise", op="mul", shape=(4, 5)),
        make_case("elementwise", op="relu", shape=(4, 5)),
        make_case("elementwise", op="gelu", shape=(4, 5)),
        make_case("reduction", op="sum", shape=(4, 5)),
        make_case("reduction", op="log_softmax", shape=(4, 5)),
        make_case("overhead", shape=(8, 8)),
        make_case("train_step", model="lenet5", batch=2),
        make_case("train_step", model="resnet8", batch=2),
        make_case("import"),
    ]
    return cases


def everything():
    seen, out = set(), []
    for case in goals() + lenet5() + resnet_cifar() + step():
        if case.id not in seen:
            seen.add(case.id)
            out.append(case)
    return out


PRESETS = {"goals": goals, "lenet5": lenet5, "resnet-cifar": resnet_cifar, "step": step, "tiny": tiny,
           "all": everything}
