"""One device, honestly: the CPU works everywhere PyTorch takes a device; any other is refused clearly."""

import numpy as np
import pytest

import autograd_core as ag
import nn

CPU_ONLY = "runs on the CPU only"


def test_device_objects_parse_compare_and_print_like_pytorch():
    d = ag.device("cpu")
    assert d.type == "cpu" and d.index is None and str(d) == "cpu" and repr(d) == "device(type='cpu')"
    assert d == "cpu" and d == ag.device(d) and d != ag.device("cpu", 0) and ag.device("cpu:0").index == 0
    c = ag.device("cuda", 1)   # naming another device is allowed, as in PyTorch; using it is not
    assert str(c) == "cuda:1" and c == ag.device("cuda:1") and c.type == "cuda" and c != "cpu"
    assert ag.device(0) == ag.device("cuda:0")
    assert len({ag.device("cpu"), ag.device("cpu")}) == 1
    with pytest.raises(RuntimeError, match="expected one of cpu, cuda.*got 'gpu'"):
        ag.device("gpu")
    with pytest.raises(ValueError, match="invalid device string"):
        ag.device("cuda:x")


def test_tensor_device_and_cuda_queries():
    x = ag.randn(2, 3)
    assert x.device == ag.device("cpu") and x.device.type == "cpu" and not x.is_cuda and x.is_cpu
    assert x.get_device() == -1 and x.cpu() is x
    assert ag.cuda.is_available() is False and ag.cuda.device_count() == 0 and not ag.cuda.is_initialized()
    ag.cuda.manual_seed(0), ag.cuda.manual_seed_all(0), ag.cuda.empty_cache()   # no-ops, as in PyTorch
    for call in (ag.cuda.current_device, ag.cuda.synchronize, lambda: ag.cuda.set_device(0)):
        with pytest.raises(RuntimeError, match=CPU_ONLY):
            call()
    ag.backends.cudnn.benchmark = True      # accepted, changes nothing
    ag.backends.cudnn.deterministic = True
    assert not ag.backends.cudnn.is_available() and not ag.backends.mps.is_available()
    # the usual idiom picks the CPU
    dev = ag.device("cuda" if ag.cuda.is_available() else "cpu")
    assert ag.zeros(2, device=dev).device == dev


FACTORIES = [
    lambda d: ag.tensor([1.0], device=d), lambda d: ag.as_tensor([1.0], device=d), lambda d: ag.zeros(2, device=d),
    lambda d: ag.ones(2, device=d), lambda d: ag.empty(2, device=d), lambda d: ag.full((2,), 1.0, device=d),
    lambda d: ag.eye(2, device=d), lambda d: ag.arange(3, device=d), lambda d: ag.linspace(0, 1, 3, device=d),
    lambda d: ag.randn(2, device=d), lambda d: ag.rand(2, device=d), lambda d: ag.randint(5, (2,), device=d),
    lambda d: ag.randperm(3, device=d), lambda d: ag.zeros_like(ag.ones(2), device=d),
    lambda d: ag.ones_like(ag.ones(2), device=d), lambda d: ag.empty_like(ag.ones(2), device=d),
    lambda d: ag.full_like(ag.ones(2), 3.0, device=d), lambda d: ag.randn_like(ag.ones(2), device=d),
    lambda d: ag.rand_like(ag.ones(2), device=d), lambda d: ag.Generator(device=d),
    lambda d: nn.Linear(2, 2, device=d), lambda d: nn.Conv2d(1, 1, 3, device=d), lambda d: nn.BatchNorm1d(2, device=d),
    lambda d: nn.Conv1d(1, 1, 3, device=d), lambda d: nn.ConvTranspose2d(1, 1, 3, device=d),
    lambda d: nn.Bilinear(2, 2, 2, device=d), lambda d: nn.Embedding(3, 2, device=d), lambda d: nn.PReLU(device=d),
    lambda d: nn.LayerNorm(2, device=d), lambda d: nn.GroupNorm(1, 2, device=d),
    lambda d: nn.InstanceNorm2d(2, affine=True, device=d), lambda d: nn.BatchNorm3d(2, device=d),
    lambda d: nn.SyncBatchNorm(2, device=d),
]


@pytest.mark.parametrize("make", FACTORIES)
def test_every_factory_takes_the_cpu_and_refuses_other_devices(make):
    for d in (None, "cpu", ag.device("cpu"), "cpu:0"):
        made = make(d)
        assert getattr(made, "device", ag.device("cpu")) == ag.device("cpu")
    for d in ("cuda", "cuda:0", ag.device("mps"), 0):
        with pytest.raises(RuntimeError, match=CPU_ONLY):
            make(d)


def test_tensor_to_takes_every_pytorch_form_and_never_drops_the_dtype():
    x = ag.tensor([[1.5, -2.0]], requires_grad=True)
    f64 = np.dtype(np.float64)
    assert x.to("cpu", ag.float64).dtype == f64          # the known bug: the dtype was ignored
    assert x.to(ag.device("cpu"), ag.float64).dtype == f64
    assert x.to(ag.float64).dtype == f64 and x.to(np.float64).dtype == f64
    assert x.to(device="cpu", dtype=ag.float64).dtype == f64 and x.to(dtype=ag.float64).dtype == f64
    assert x.to("cpu", dtype=ag.float64).dtype == f64
    assert x.to(ag.zeros(1, dtype=np.float64)).dtype == f64   # to(other)
    assert x.to(ag.zeros(1)) is x and x.to("cpu") is x and x.to(ag.float32) is x and x.to() is x
    assert x.to("cpu", non_blocking=True, memory_format=None) is x
    y = x.to(ag.float32, copy=True)
    assert y is not x and y.data is not x.data and np.array_equal(y.data, x.data)
    # the cast is differentiable, back to the input's dtype
    x.to("cpu", ag.float64).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [[1.0, 1.0]]
    assert ag.arange(3).to(ag.float32).dtype == np.float32
    for bad in (lambda: x.to("cuda"), lambda: x.to("cuda:0", ag.float64), lambda: x.to(device=ag.device("cuda")),
                lambda: x.cuda()):
        with pytest.raises(RuntimeError, match=CPU_ONLY):
            bad()
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        x.to(dtyp=ag.float64)
    with pytest.raises(TypeError, match="expected a dtype, a device or a tensor"):
        x.to([1, 2])


def test_module_to_cpu_cuda():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = m[0].weight
    assert m.to("cpu") is m and m.cpu() is m and m.to(ag.device("cpu")) is m
    m.to("cpu", ag.float64)
    assert m[0].weight is w and w.dtype == np.float64 and m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64          # integer buffers keep their dtype
    m.to(ag.zeros(1))                                           # to(tensor): its dtype
    assert w.dtype == np.float32
    m.to(device="cpu", dtype=ag.float64, non_blocking=True)
    assert w.dtype == np.float64
    with pytest.raises(TypeError, match="only floating-point dtypes"):
        m.to(ag.int64)
    for bad in (lambda: m.to("cuda"), lambda: m.cuda(), lambda: m.to("mps", ag.float32)):
        with pytest.raises(RuntimeError, match=CPU_ONLY):
            bad()
    assert w.dtype == np.float64   # a refused call changed nothing
