"""Module: registration, traversal, modes, state dicts (strict errors, failed loads change nothing), containers."""

import copy

import numpy as np
import pytest

import autograd_core as ag
import nn
import optim


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(ag.ones(4))
        self.register_buffer("count", ag.zeros(1))
        self.plain = 5  # not registered

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.block(x))


def test_registration_and_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # PyTorch's order: a module's own parameters, then its children's, depth first
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.1.weight", "head.1.bias"]
    assert [n for n, _ in net.named_buffers()] == ["block.count"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "head", "head.0", "head.1"]
    assert len(list(net.modules())) == 6
    assert net.block.plain == 5 and "plain" not in dict(net.block.named_parameters())
    assert net.get_parameter("block.fc.bias") is net.block.fc.bias
    assert net.get_submodule("head.1") is net.head[1]


def test_shared_parameter_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, a)
    assert len(list(seq.parameters())) == 2
    assert len(seq.state_dict()) == 4  # state_dict names every path, like PyTorch


def test_reassigning_and_deleting():
    m = Block()
    m.fc = nn.Linear(3, 5)
    assert m.fc.out_features == 5
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = ag.ones(4)  # a plain Tensor cannot replace a Parameter
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    del m.fc
    assert not hasattr(m, "fc")


def test_assign_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ag.ones(2))

    with pytest.raises(AttributeError, match=r"super\(\)\.__init__\(\)"):
        Bad()


def test_train_eval_propagate():
    net = Net()
    assert net.training and net.head[1].training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_requires_grad():
    net = Net()
    net(ag.randn(2, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.block.requires_grad_(False)
    net(ag.randn(2, 3)).sum().backward()
    assert net.block.fc.weight.grad is None and net.head[1].weight.grad is not None


def test_frozen_parameters_get_no_gradient_and_no_update():
    """Transfer learning: freeze the feature extractor, train the head."""
    ag.manual_seed(0)
    net = Net()
    net.block.requires_grad_(False)
    frozen = {n: p.data.copy() for n, p in net.block.named_parameters()}
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    head_before = net.head[1].weight.data.copy()
    for _ in range(3):
        opt.zero_grad()
        net(ag.randn(4, 3)).square().mean().backward()
        opt.step()
    for n, p in net.block.named_parameters():
        assert p.grad is None
        np.testing.assert_array_equal(p.data, frozen[n])
        assert p not in opt.state
    assert not np.array_equal(net.head[1].weight.data, head_before)


def test_state_dict_round_trip_into_a_fresh_model():
    ag.manual_seed(0)
    a = Net()
    ag.manual_seed(1)
    b = Net()
    x = ag.randn(5, 3)
    assert not np.allclose(a(x).data, b(x).data)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).data, b(x).data)
    # values were copied, not shared
    a.block.fc.weight.data[...] = 0
    assert b.block.fc.weight.data.any()


def test_load_keeps_parameter_objects():
    """An optimizer holding the parameters keeps working after a load."""
    a, b = Net(), Net()
    w = b.block.fc.weight
    b.load_state_dict(a.state_dict())
    assert b.block.fc.weight is w
    np.testing.assert_array_equal(w.data, a.block.fc.weight.data)


def test_state_dict_values_are_detached_and_shared():
    net = Net()
    sd = net.state_dict()
    assert not sd["block.fc.weight"].requires_grad
    assert sd["block.fc.weight"].data is net.block.fc.weight.data
    assert net.state_dict(keep_vars=True)["block.fc.weight"] is net.block.fc.weight


def _snapshot(m):
    return {k: v.data.copy() for k, v in m.state_dict().items()}


def _assert_unchanged(m, snap):
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v.data, snap[k])


def test_strict_load_names_missing_and_unexpected_keys_and_changes_nothing():
    net = Net()
    snap = _snapshot(net)
    sd = {k: v.data + 1 for k, v in Net().state_dict().items()}
    del sd["head.1.bias"]
    sd["head.2.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(RuntimeError) as e:
        net.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys" in msg and "'head.1.bias'" in msg
    assert "unexpected keys" in msg and "'head.2.weight'" in msg
    assert "nothing was changed" in msg
    _assert_unchanged(net, snap)
    # non-strict loads the matching keys and reports the others
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.1.bias"] and res.unexpected_keys == ["head.2.weight"]
    np.testing.assert_array_equal(net.block.fc.weight.data, sd["block.fc.weight"])


def test_mis_shaped_key_is_an_error_even_when_not_strict():
    net = Net()
    snap = _snapshot(net)
    sd = {k: v.data.copy() for k, v in net.state_dict().items()}
    sd["block.fc.weight"] = np.zeros((4, 2), np.float32)
    sd["block.scale"] = sd["block.scale"] + 3   # valid: must not be applied either
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"block\.fc\.weight: shape \(4, 2\).*\(4, 3\)"):
            net.load_state_dict(sd, strict=strict)
        _assert_unchanged(net, snap)


def test_uncastable_dtype_is_an_error():
    net = Net()
    sd = {k: v.data.copy() for k, v in net.state_dict().items()}
    sd["block.fc.weight"] = sd["block.fc.weight"].astype(np.complex64)
    with pytest.raises(RuntimeError, match="block.fc.weight: dtype complex64"):
        net.load_state_dict(sd)
    m = nn.BatchNorm1d(3)
    sd = {k: v.data.copy() for k, v in m.state_dict().items()}
    sd["num_batches_tracked"] = np.asarray(1.5)
    with pytest.raises(RuntimeError, match="num_batches_tracked: dtype float64"):
        m.load_state_dict(sd)


def test_float64_checkpoint_loads_into_float32_model():
    a = Net().double()
    b = Net()
    b.load_state_dict(a.state_dict())
    assert b.block.fc.weight.dtype == np.float32
    np.testing.assert_allclose(b.block.fc.weight.data, a.block.fc.weight.data, rtol=1e-6)


def test_double_and_float_convert_in_place():
    net = Net()
    w = net.block.fc.weight
    net.double()
    assert net.block.fc.weight is w and w.dtype == np.float64
    assert net.block.count.dtype == np.float64
    assert net(ag.randn(2, 3, dtype=np.float64)).dtype == np.float64
    net.float()
    assert w.dtype == np.float32
    m = nn.BatchNorm1d(2).double()
    assert m.num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype


def test_repr_is_readable():
    text = repr(Net())
    assert text == (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=3, out_features=4, bias=True)\n"
        "  )\n"
        "  (head): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Linear(in_features=4, out_features=2, bias=True)\n"
        "  )\n"
        ")")
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(nn.Parameter(ag.zeros(2))).startswith("Parameter containing:")


def test_forward_hooks():
    m = nn.Linear(2, 2)
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args: seen.append("pre"))
    h2 = m.register_forward_hook(lambda mod, args, out: out * 0)
    out = m(ag.ones(1, 2))
    assert seen == ["pre"] and not out.data.any()
    h1.remove()
    h2.remove()
    assert m(ag.ones(1, 2)).data.any() and seen == ["pre"]


def test_deepcopy_gives_independent_parameters():
    a = Net()
    b = copy.deepcopy(a)
    b.block.fc.weight.data[...] = 0
    assert a.block.fc.weight.data.any()
    assert isinstance(b.block.fc.weight, nn.Parameter)


def test_sequential():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[1], nn.ReLU) and isinstance(s[-1], nn.Linear)
    assert len(s[:2]) == 2 and s[:2][0] is s[0]
    x = ag.randn(4, 2)
    np.testing.assert_array_equal(s(x).data, s[2](s[1](s[0](x))).data)
    s.append(nn.Sigmoid())
    assert len(s) == 4 and [n for n, _ in s.named_children()] == ["0", "1", "2", "3"]
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("conv", nn.Linear(1, 1)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["conv.weight", "conv.bias"]
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)
    with pytest.raises(IndexError, match="out of range"):
        s[7]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    assert len(list(ml.parameters())) == 6
    ml.append(nn.Linear(1, 2))
    ml.insert(0, nn.ReLU())
    assert [type(m).__name__ for m in ml] == ["ReLU", "Linear", "Linear", "Linear", "Linear"]
    del ml[0]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3"]
    ml += [nn.Tanh()]
    assert isinstance(ml[-1], nn.Tanh)
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    md["c"] = nn.Linear(2, 2)
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert isinstance(md.pop("b"), nn.ReLU) and "b" not in md


def test_register_buffer_and_parameter_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="must be a Parameter"):
        m.register_parameter("w", ag.ones(2))
    with pytest.raises(KeyError, match="contain no '.'"):
        m.register_buffer("a.b", ag.ones(1))
    m.register_buffer("tmp", ag.ones(1), persistent=False)
    assert "tmp" in dict(m.named_buffers()) and "tmp" not in m.state_dict()
