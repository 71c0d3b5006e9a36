"""The models of the training-step cases, declared once and built three ways.

A model is a list of layer tuples ``(type, name, *args)``. From one declaration:

- ``build_module(spec, nn)`` builds an ``nn.Module`` with PyTorch's layer names,
  for any ``nn`` namespace that speaks PyTorch's API (ours or ``torch.nn``), so
  both frameworks train exactly the same architecture with the same parameter
  names (``conv1.weight``, ``layer2.down_bn.bias``, ...);
- ``NumpyModel`` is the plain numpy reference: forward, backward and SGD with
  momentum written out by hand (also the ``numpy`` framework of the train-step
  cases);
- ``init_params`` draws the initial weights every framework loads, and
  ``forward_flops`` counts the multiply-adds of convolutions and linear layers.

Only numpy is imported here.
"""

from __future__ import annotations

import numpy as np

from . import reference as R

# (type, name, *args):
#   conv: cin, cout, kernel, stride, padding, bias      bn: channels
#   linear: fin, fout      maxpool: kernel, stride      relu / flatten / gap (global average pool)
#   block: cin, cout, stride  (a ResNet BasicBlock: conv3x3-bn-relu-conv3x3-bn + shortcut, then relu)
MODELS = {
    # LeCun et al. 1998 with ReLU and max pooling, for 1x28x28 inputs (Fashion-MNIST)
    "lenet5": {
        "input": (1, 28, 28), "classes": 10,
        "layers": [
            ("conv", "conv1", 1, 6, 5, 1, 2, True), ("relu", "relu1"), ("maxpool", "pool1", 2, 2),
            ("conv", "conv2", 6, 16, 5, 1, 0, True), ("relu", "relu2"), ("maxpool", "pool2", 2, 2),
            ("flatten", "flatten"),
            ("linear", "fc1", 400, 120), ("relu", "relu3"),
            ("linear", "fc2", 120, 84), ("relu", "relu4"),
            ("linear", "fc3", 84, 10),
        ],
    },
    # a small ResNet for 3x32x32 inputs (CIFAR-sized): stem, three BasicBlocks (16, 32, 64 channels)
    "resnet8": {
        "input": (3, 32, 32), "classes": 10,
        "layers": [
            ("conv", "conv1", 3, 16, 3, 1, 1, False), ("bn", "bn1", 16), ("relu", "relu1"),
            ("block", "layer1", 16, 16, 1),
            ("block", "layer2", 16, 32, 2),
            ("block", "layer3", 32, 64, 2),
            ("gap", "pool"), ("flatten", "flatten"),
            ("linear", "fc", 64, 10),
        ],
    },
}


def _resnet_cifar(n):
    """He et al. 2016's CIFAR ResNet of depth 6n+2: three stages of n BasicBlocks (16, 32, 64 channels).

    Projection shortcuts (a 1x1 conv and batch norm) where the shape changes,
    identity elsewhere; global average pooling and one linear layer.
    """
    layers = [("conv", "conv1", 3, 16, 3, 1, 1, False), ("bn", "bn1", 16), ("relu", "relu1")]
    cin = 16
    for stage, cout in enumerate((16, 32, 64), 1):
        for b in range(n):
            stride = 2 if (b == 0 and stage > 1) else 1
            layers.append(("block", f"layer{stage}_{b}", cin, cout, stride))
            cin = cout
    layers += [("gap", "pool"), ("flatten", "flatten"), ("linear", "fc", 64, 10)]
    return {"input": (3, 32, 32), "classes": 10, "layers": layers}


MODELS["resnet20"] = _resnet_cifar(3)

LR, MOMENTUM = 0.01, 0.9
BN_EPS = 1e-5


def _block_layers(name, cin, cout, stride):
    """The sub-layers of a BasicBlock, as (main path, shortcut path)."""
    main = [("conv", f"{name}.conv1", cin, cout, 3, stride, 1, False), ("bn", f"{name}.bn1", cout),
            ("relu", f"{name}.relu1"),
            ("conv", f"{name}.conv2", cout, cout, 3, 1, 1, False), ("bn", f"{name}.bn2", cout)]
    short = []
    if stride != 1 or cin != cout:
        short = [("conv", f"{name}.down_conv", cin, cout, 1, stride, 0, False), ("bn", f"{name}.down_bn", cout)]
    return main, short


def _flat_layers(layers):
    for layer in layers:
        if layer[0] == "block":
            main, short = _block_layers(*layer[1:])
            yield from main
            yield from short
        else:
            yield layer


def param_shapes(spec):
    """Ordered ``{name: (shape, layer type)}`` of every trainable parameter."""
    shapes = {}
    for layer in _flat_layers(spec["layers"]):
        kind, name = layer[0], layer[1]
        if kind == "conv":
            cin, cout, k, _, _, bias = layer[2:]
            shapes[f"{name}.weight"] = ((cout, cin, k, k), kind)
            if bias:
                shapes[f"{name}.bias"] = ((cout,), kind)
        elif kind == "linear":
            fin, fout = layer[2:]
            shapes[f"{name}.weight"] = ((fout, fin), kind)
            shapes[f"{name}.bias"] = ((fout,), kind)
        elif kind == "bn":
            shapes[f"{name}.weight"] = ((layer[2],), kind)
            shapes[f"{name}.bias"] = ((layer[2],), kind)
    return shapes


def init_params(spec, rng, dtype):
    """PyTorch-like initial values: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); batch norm 1 and 0."""
    shapes = param_shapes(spec)
    params = {}
    for name, (shape, kind) in shapes.items():
        if kind == "bn":
            params[name] = (np.ones if name.endswith("weight") else np.zeros)(shape, dtype=dtype)
            continue
        wshape = shapes[name.rsplit(".", 1)[0] + ".weight"][0]
        bound = 1.0 / np.sqrt(int(np.prod(wshape[1:])))
        params[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
    return params


def _layer_flops(layers, shape, batch, out):
    """Append the FLOPs of each conv/linear layer to ``out``; return the output activation shape."""
    for layer in layers:
        kind = layer[0]
        if kind == "block":
            main, short = _block_layers(*layer[1:])
            s_main = _layer_flops(main, shape, batch, out)
            _layer_flops(short, shape, batch, out)
            shape = s_main
        elif kind == "conv":
            cin, cout, k, s, p, _ = layer[2:]
            shape = (cout, R.conv_out_size(shape[1], k, s, p, 1), R.conv_out_size(shape[2], k, s, p, 1))
            out.append(2 * batch * cout * shape[1] * shape[2] * cin * k * k)
        elif kind == "linear":
            out.append(2 * batch * layer[2] * layer[3])
            shape = (layer[3],)
        elif kind == "maxpool":
            k, s = layer[2:]
            shape = (shape[0], R.pool_out_size(shape[1], k, s, 0, False), R.pool_out_size(shape[2], k, s, 0, False))
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
        elif kind == "gap":
            shape = (shape[0], 1, 1)
    return shape


def forward_flops(spec, batch):
    """(forward FLOPs, FLOPs of the first layer's input gradient) of conv and linear layers (2 per MAC)."""
    flops = []
    _layer_flops(spec["layers"], tuple(spec["input"]), batch, flops)
    return sum(flops), flops[0]


def step_flops(spec, batch):
    """FLOPs of one training step: forward, weight gradients, and input gradients except the first layer's."""
    fwd, first = forward_flops(spec, batch)
    return 3 * fwd - first


# --------------------------------------------------------------------------- the numpy reference


class NumpyModel:
    """Forward, backward and SGD with momentum (PyTorch's rule) in plain numpy."""

    def __init__(self, spec, params):
        self.spec = spec
        self.params = {k: v.copy() for k, v in params.items()}
        self.bufs = {}
        self.lr = LR

    # layer-by-layer forward; each returns (y, cache)
    def _fwd(self, layer, x):
        kind, name, P = layer[0], layer[1], self.params
        if kind == "conv":
            s, p = layer[5], layer[6]
            y = R.conv2d(x, P[f"{name}.weight"], P.get(f"{name}.bias"), (s, s), (p, p))
            return y, x
        if kind == "linear":
            return x @ P[f"{name}.weight"].T + P[f"{name}.bias"], x
        if kind == "relu":
            return np.maximum(x, 0), x > 0
        if kind == "maxpool":
            k, s = layer[2], layer[3]
            y, idx = R.max_pool2d(x, (k, k), (s, s))
            return y, (idx, x.shape)
        if kind == "flatten":
            return x.reshape(x.shape[0], -1), x.shape
        if kind == "gap":
            return x.mean(axis=(2, 3), keepdims=True), x.shape
        if kind == "bn":
            mean = x.mean(axis=(0, 2, 3), keepdims=True)
            var = x.var(axis=(0, 2, 3), keepdims=True)
            inv = 1.0 / np.sqrt(var + x.dtype.type(BN_EPS))
            xhat = (x - mean) * inv
            g, b = P[f"{name}.weight"], P[f"{name}.bias"]
            return xhat * g.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1), (xhat, inv)
        if kind == "block":
            main, short = _block_layers(*layer[1:])
            ym, cm = self._fwd_seq(main, x)
            ys, cs = self._fwd_seq(short, x)
            z = ym + ys
            return np.maximum(z, 0), (cm, cs, z > 0)
        raise ValueError(f"unknown layer type {kind!r}")

    def _bwd(self, layer, cache, gy, grads):
        kind, name, P = layer[0], layer[1], self.params
        if kind == "conv":
            x, (s, p) = cache, (layer[5], layer[6])
            w = P[f"{name}.weight"]
            grads[f"{name}.weight"] = R.conv2d_weight_grad(x, gy, w.shape, (s, s), (p, p))
            if f"{name}.bias" in P:
                grads[f"{name}.bias"] = gy.sum(axis=(0, 2, 3))
            return R.conv2d_input_grad(gy, w, x.shape, (s, s), (p, p))
        if kind == "linear":
            x = cache
            grads[f"{name}.weight"] = gy.T @ x
            grads[f"{name}.bias"] = gy.sum(axis=0)
            return gy @ P[f"{name}.weight"]
        if kind == "relu":
            return gy * cache
        if kind == "maxpool":
            idx, shape = cache
            return R.max_pool2d_backward(gy, idx, shape)
        if kind == "flatten":
            return gy.reshape(cache)
        if kind == "gap":
            N, C, H, W = cache
            return np.broadcast_to(gy / (H * W), cache).copy()
        if kind == "bn":
            xhat, inv = cache
            g = P[f"{name}.weight"].reshape(1, -1, 1, 1)
            grads[f"{name}.weight"] = (gy * xhat).sum(axis=(0, 2, 3))
            grads[f"{name}.bias"] = gy.sum(axis=(0, 2, 3))
            gxhat = gy * g
            m = gy.shape[0] * gy.shape[2] * gy.shape[3]
            return (inv / m) * (m * gxhat - gxhat.sum(axis=(0, 2, 3), keepdims=True)
                                - xhat * (gxhat * xhat).sum(axis=(0, 2, 3), keepdims=True))
        if kind == "block":
            cm, cs, mask = cache
            gz = gy * mask
            main, short = _block_layers(*layer[1:])
            return self._bwd_seq(main, cm, gz, grads) + self._bwd_seq(short, cs, gz, grads)
        raise ValueError(f"unknown layer type {kind!r}")

    def _fwd_seq(self, layers, x):
        caches = []
        for layer in layers:
            x, c = self._fwd(layer, x)
            caches.append(c)
        return x, caches

    def _bwd_seq(self, layers, caches, g, grads):
        for layer, c in zip(reversed(layers), reversed(caches)):
            g = self._bwd(layer, c, g, grads)
        return g

    def forward(self, x):
        return self._fwd_seq(self.spec["layers"], x)[0]

    def loss_and_grads(self, x, labels):
        """Mean cross-entropy of the logits and the gradient of every parameter."""
        logits, caches = self._fwd_seq(self.spec["layers"], x)
        n = logits.shape[0]
        logp = R._log_softmax(logits, 1)
        loss = -logp[np.arange(n), labels].mean()
        g = np.exp(logp)
        g[np.arange(n), labels] -= 1
        g /= n
        grads = {}
        self._bwd_seq(self.spec["layers"], caches, g.astype(logits.dtype), grads)
        return loss, grads

    def step(self, x, labels):
        """One training step: forward, backward, SGD with momentum; returns the loss."""
        loss, grads = self.loss_and_grads(x, labels)
        for name, g in grads.items():
            buf = self.bufs.get(name)
            buf = g.copy() if buf is None else buf * MOMENTUM + g
            self.bufs[name] = buf
            self.params[name] -= self.lr * buf
        return loss


# --------------------------------------------------------------------------- modules (ours or torch.nn)


def build_module(spec, nn):
    """The model as an ``nn.Module`` of the given PyTorch-compatible ``nn`` namespace."""

    def make(layer):
        kind = layer[0]
        if kind == "conv":
            cin, cout, k, s, p, bias = layer[2:]
            return nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
        if kind == "linear":
            return nn.Linear(*layer[2:])
        if kind == "bn":
            return nn.BatchNorm2d(layer[2])
        if kind == "relu":
            return nn.ReLU()
        if kind == "maxpool":
            return nn.MaxPool2d(layer[2], layer[3])
        if kind == "flatten":
            return nn.Flatten()
        if kind == "gap":
            return nn.AdaptiveAvgPool2d((1, 1))
        if kind == "block":
            return Block(*layer[2:])
        raise ValueError(f"unknown layer type {kind!r}")

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            main, short = _block_layers("", cin, cout, stride)
            for layer in main + short:
                setattr(self, layer[1][1:], make(layer))
            self.has_down = bool(short)

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
            sc = self.down_bn(self.down_conv(x)) if self.has_down else x
            return (out + sc).relu()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.order = tuple(layer[1] for layer in spec["layers"])
            for layer in spec["layers"]:
                setattr(self, layer[1], make(layer))

        def forward(self, x):
            for name in self.order:
                x = getattr(self, name)(x)
            return x

    return Net()


def required_nn_names(spec):
    """The ``nn`` classes a model needs (to report exactly what is missing)."""
    need = {"Module", "CrossEntropyLoss"}
    names = {"conv": "Conv2d", "linear": "Linear", "bn": "BatchNorm2d", "relu": "ReLU", "maxpool": "MaxPool2d",
             "flatten": "Flatten", "gap": "AdaptiveAvgPool2d"}
    for layer in _flat_layers(spec["layers"]):
        if layer[0] in names:
            need.add(names[layer[0]])
    if any(layer[0] == "gap" for layer in spec["layers"]):
        need.add("AdaptiveAvgPool2d")
    return sorted(need)
