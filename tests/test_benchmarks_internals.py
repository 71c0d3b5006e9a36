"""The benchmark's own parts, in-process: references, models, timing, reports, the worker's check."""

import itertools

import numpy as np
import pytest

from benchmarks import models as M
from benchmarks import reference as R
from benchmarks import report, worker
from benchmarks.cases import Case, CaseError, compare, expected_outputs, make_case, make_inputs
from benchmarks.frameworks import Unavailable
from benchmarks.presets import PRESETS
from benchmarks.timing import TimingConfig, measure, summarize

rng = np.random.default_rng(0)


def naive_conv2d(x, w, stride, padding, dilation, groups):
    N, C, H, W = x.shape
    K, Cg, Rr, S = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    Ho = R.conv_out_size(H, Rr, stride[0], padding[0], dilation[0])
    Wo = R.conv_out_size(W, S, stride[1], padding[1], dilation[1])
    y = np.zeros((N, K, Ho, Wo))
    Kg = K // groups
    for n, k, i, j in itertools.product(range(N), range(K), range(Ho), range(Wo)):
        g = k // Kg
        for c, r, s in itertools.product(range(Cg), range(Rr), range(S)):
            y[n, k, i, j] += xp[n, g * Cg + c, i * stride[0] + r * dilation[0], j * stride[1] + s * dilation[1]] \
                * w[k, c, r, s]
    return y


GEOMETRIES = [  # (N, C, H, W), (K, R, S), stride, padding, dilation, groups
    ((2, 3, 7, 6), (4, 3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((1, 4, 9, 8), (6, 3, 2), (2, 1), (1, 2), (1, 2), 2),
    ((2, 2, 8, 8), (2, 5, 5), (2, 2), (2, 2), (1, 1), 2),
    ((1, 3, 10, 9), (3, 3, 3), (3, 2), (1, 0), (2, 1), 3),
]


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, groups", GEOMETRIES)
def test_conv2d_reference_and_its_adjoints(shape, kernel, stride, padding, dilation, groups):
    x = rng.standard_normal(shape)
    K, Rr, S = kernel
    w = rng.standard_normal((K, shape[1] // groups, Rr, S))
    geo = (stride, padding, dilation, groups)
    y = R.conv2d(x, w, None, *geo)
    np.testing.assert_allclose(y, naive_conv2d(x, w, *geo), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape)
    dx = R.conv2d_input_grad(gy, w, x.shape, *geo)
    dw = R.conv2d_weight_grad(x, gy, w.shape, *geo)
    # conv2d is bilinear: <conv(x, w), gy> = <x, dx> = <w, dw>
    ref = np.vdot(y, gy)
    assert np.isclose(np.vdot(x, dx), ref) and np.isclose(np.vdot(w, dw), ref)
    # and each gradient is exact along a random direction
    d = rng.standard_normal(x.shape)
    assert np.isclose(np.vdot(R.conv2d(d, w, None, *geo), gy), np.vdot(d, dx))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    x = rng.standard_normal((2, 4, 5, 6))
    w = rng.standard_normal((4, 3, 3, 3))  # (C_in, C_out / groups, R, S), groups = 1
    y = R.conv_transpose2d(x, w, None, (2, 2), (1, 1), (1, 0), 1, (1, 1))
    assert y.shape == (2, 3, 10, 11)  # (H - 1) * s - 2p + d(k - 1) + op + 1
    z = rng.standard_normal(y.shape)
    assert np.isclose(np.vdot(y, z), np.vdot(x, R.conv2d(z, w, None, (2, 2), (1, 1), (1, 1), 1)))
    dx, dw, db = R.conv_transpose2d_grads(x, w, z, (2, 2), (1, 1), 1, (1, 1))
    d = rng.standard_normal(w.shape)
    assert np.isclose(np.vdot(R.conv_transpose2d(x, d, None, (2, 2), (1, 1), (1, 0), 1, (1, 1)), z), np.vdot(d, dw))
    np.testing.assert_allclose(db, z.sum(axis=(0, 2, 3)))


def naive_pool(x, kernel, stride, padding, ceil_mode, op, count_include_pad=True):
    N, C, H, W = x.shape
    Ho = R.pool_out_size(H, kernel[0], stride[0], padding[0], ceil_mode)
    Wo = R.pool_out_size(W, kernel[1], stride[1], padding[1], ceil_mode)
    y = np.zeros((N, C, Ho, Wo))
    for i, j in itertools.product(range(Ho), range(Wo)):
        h0, w0 = i * stride[0] - padding[0], j * stride[1] - padding[1]
        h1, w1 = min(h0 + kernel[0], H + padding[0]), min(w0 + kernel[1], W + padding[1])
        full = (h1 - h0) * (w1 - w0)
        win = x[:, :, max(h0, 0):min(h1, H), max(w0, 0):min(w1, W)]
        if op == "max":
            y[:, :, i, j] = win.max(axis=(2, 3))
        else:
            y[:, :, i, j] = win.sum(axis=(2, 3)) / (full if count_include_pad else win.shape[2] * win.shape[3])
    return y


@pytest.mark.parametrize("H, W, kernel, stride, padding, ceil_mode, cip", [
    (8, 8, (2, 2), (2, 2), (0, 0), False, True),
    (9, 9, (3, 3), (2, 2), (1, 1), True, True),
    (9, 7, (3, 2), (2, 3), (1, 1), True, False),
    (10, 9, (3, 3), (1, 2), (0, 1), False, False),
])
def test_pooling_references(H, W, kernel, stride, padding, ceil_mode, cip):
    x = rng.standard_normal((2, 3, H, W))
    y, idx = R.max_pool2d(x, kernel, stride, padding, ceil_mode)
    np.testing.assert_allclose(y, naive_pool(x, kernel, stride, padding, ceil_mode, "max"))
    assert np.array_equal(np.take_along_axis(x.reshape(2, 3, -1), idx.reshape(2, 3, -1), axis=2).reshape(y.shape), y)
    gy = rng.standard_normal(y.shape)
    gx = R.max_pool2d_backward(gy, idx, x.shape)
    assert np.isclose(gx.sum(), gy.sum())
    a = R.avg_pool2d(x, kernel, stride, padding, ceil_mode, cip)
    np.testing.assert_allclose(a, naive_pool(x, kernel, stride, padding, ceil_mode, "avg", cip))
    ga = R.avg_pool2d_backward(gy, x.shape, kernel, stride, padding, ceil_mode, cip)
    assert np.isclose(np.vdot(a, gy), np.vdot(x, ga))  # avg-pool is linear: backward is its adjoint


def test_adaptive_pool_reference():
    x = rng.standard_normal((2, 3, 10, 7))
    y = R.adaptive_avg_pool2d(x, (3, 4))
    assert np.isclose(R.adaptive_avg_pool2d(x, (1, 1))[..., 0, 0], x.mean(axis=(2, 3))).all()
    gy = rng.standard_normal(y.shape)
    assert np.isclose(np.vdot(y, gy), np.vdot(x, R.adaptive_avg_pool2d_backward(gy, x.shape)))


def test_output_size_rule():
    # the lecture's (N - F + 2P) / S + 1
    assert R.conv_out_size(32, 5, 1, 2, 1) == 32 and R.conv_out_size(7, 3, 2, 0, 1) == 3
    assert R.pool_out_size(9, 3, 2, 1, True) == 5 and R.pool_out_size(8, 2, 2, 0, True) == 4


@pytest.mark.parametrize("model", ["lenet5", "resnet8"])
def test_numpy_model_gradients_match_finite_differences(model):
    spec = M.MODELS[model]
    r = np.random.default_rng(1)
    params = M.init_params(spec, r, np.float64)
    x = r.standard_normal((2,) + spec["input"])
    labels = np.array([3, 7])
    net = M.NumpyModel(spec, params)
    loss, grads = net.loss_and_grads(x, labels)
    assert set(grads) == set(params)

    def loss_only():
        logp = R._log_softmax(net.forward(x), 1)
        return -logp[np.arange(2), labels].mean()

    for name in list(params)[::4]:
        flat = net.params[name].reshape(-1)
        i = int(r.integers(flat.size))
        old = flat[i]
        flat[i] = old + 1e-6
        lp = loss_only()
        flat[i] = old - 1e-6
        lm = loss_only()
        flat[i] = old
        fd = (lp - lm) / 2e-6
        assert abs(fd - grads[name].reshape(-1)[i]) <= 1e-5 * max(1.0, abs(fd)), name


def test_model_flops():
    fwd, first = M.forward_flops(M.MODELS["lenet5"], 1)
    # C1 1->6 28x28 k5, C3 6->16 10x10 k5, F5-F7: 400*120 + 120*84 + 84*10 MACs
    macs = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10
    assert fwd == 2 * macs and first == 2 * 6 * 28 * 28 * 25
    assert M.step_flops(M.MODELS["lenet5"], 64) == 64 * (3 * 2 * macs - first)


def test_summarize_and_measure():
    s = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert s["median"] == 3.0 and s["min"] == 1.0 and s["iqr"] == 2.0 and s["noisy"]
    assert not summarize([1.0] * 5)["noisy"]
    calls = []
    cfg = TimingConfig(warmup_calls=2, warmup_time=0.0, min_repeats=5, min_time=0.0, sample_time=0.0)
    out = measure(lambda: calls.append(1), cfg)
    assert out["repeats"] == 5 and len(out["samples"]) == 5 and out["warmup_calls"] == 2
    assert len(calls) == 2 + 5 * out["number"]


def test_every_preset_is_valid_and_ids_are_unique():
    for name, make in PRESETS.items():
        cases = make()
        ids = [c.id for c in cases]
        assert len(ids) == len(set(ids)), name
        for c in cases:
            assert Case.from_dict(c.to_dict()) == c


def test_inputs_are_reproducible():
    case = make_case("conv2d", shape=(2, 3, 8, 8), kernel=(4, 3, 3))
    a, b = make_inputs(case), make_inputs(case)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_compare_names_the_mismatch():
    want = {"y": np.arange(6.0).reshape(2, 3)}
    assert compare({"y": want["y"] + 1e-9}, want, 1e-6) is None
    bad = want["y"].copy()
    bad[1, 2] += 1
    msg = compare({"y": bad}, want, 1e-6)
    assert "y: max |got - reference| = 1 at index (1, 2)" in msg
    assert "shape" in compare({"y": bad[0]}, want, 1e-6)
    assert "missing" in compare({}, want, 1e-6)


class _FakeFramework:
    """A framework whose conv2d is off by one percent (or missing)."""

    def __init__(self, broken=True, missing=False):
        self.broken, self.missing = broken, missing

    def build(self, case, inputs):
        if self.missing:
            raise Unavailable("no conv2d here")
        out = expected_outputs(case, inputs)[0]
        if self.broken:
            out = {k: v * 1.01 for k, v in out.items()}
        return (lambda: out), (lambda o: o)


def test_worker_reports_a_wrong_result_and_does_not_time_it():
    case = make_case("conv2d", "fwd", shape=(2, 3, 8, 8), kernel=(4, 3, 3), padding=1)
    quick = TimingConfig(warmup_time=0.0, min_repeats=3, min_time=0.0).to_dict()
    res = worker.run_case(_FakeFramework(), case.to_dict(), quick, "fake")
    assert res["status"] == "failed" and "wrong result, y:" in res["error"]
    assert "samples" not in res
    res = worker.run_case(_FakeFramework(broken=False), case.to_dict(), quick, "fake")
    assert res["status"] == "ok" and res["repeats"] >= 3 and res["max_rel_error"] < 1e-5
    res = worker.run_case(_FakeFramework(missing=True), case.to_dict(), quick, "fake")
    assert res == {"status": "unavailable", "reason": "no conv2d here"}


def _entry(case, ours, torch):
    e = {"id": case.id, "title": case.title, "case": case.to_dict(), "flops": 2e9, "bytes": None,
         "results": {"ours": {"status": "ok", "median": ours, "rel_iqr": 0.01},
                     "torch": {"status": "ok", "median": torch, "rel_iqr": 0.5, "noisy": True, "repeats": 10}}}
    report.derive(e, peak_gflops=100.0)
    return e


def test_report_derives_rates_ratios_and_goals():
    case = make_case("conv2d", shape=(2, 3, 8, 8), kernel=(4, 3, 3), label="tiny",
                     goal={"max_ratio": 0.5, "vs": "torch"})
    e = _entry(case, 0.01, 0.04)
    assert e["results"]["ours"]["gflops"] == pytest.approx(200.0)
    assert e["results"]["ours"]["peak_fraction"] == pytest.approx(2.0)
    assert e["ratios"]["torch"] == pytest.approx(0.25) and e["goal"]["met"] is True
    assert _entry(case, 0.04, 0.04)["goal"]["met"] is False
    run = {"header": {"date": "d", "command": "c", "cpu": "cpu", "cores": 2, "threads": 2, "commit": "abc",
                      "load_average_start": [1.0, 1.0, 1.0]},
           "frameworks": {"ours": {}, "torch": {}}, "peak": None, "cases": [e]}
    text = report.text_report(run)
    assert "tiny: conv2d.fwdbwd" in text and "0.25" in text and "noisy" in text and "met?" in text
    assert "| tiny: conv2d.fwdbwd" in report.markdown_report(run)


def test_baseline_comparison():
    case = make_case("matmul", shape=(4, 4, 4))
    run = {"cases": [_entry(case, 0.013, 0.01)]}
    base = {"cases": [_entry(case, 0.010, 0.01)]}
    ((cid, old, new, change, verdict),) = report.compare_baseline(run, base, 0.2)
    assert verdict == "REGRESSION" and change == pytest.approx(1.3)
    ((*_, verdict),) = report.compare_baseline(run, base, 0.5)
    assert verdict == "same"


def test_case_errors_are_value_errors():
    with pytest.raises(CaseError, match="output_padding"):
        make_case("conv_transpose2d", shape=(1, 2, 4, 4), kernel=(2, 3, 3), stride=1, output_padding=1)
    with pytest.raises(CaseError, match="unknown model"):
        make_case("train_step", model="vgg")
    assert issubclass(CaseError, ValueError)


@pytest.mark.parametrize("framework", ["ours", "numpy"])
def test_issue13_kinds_check_and_time(framework):
    """cross_entropy, optim_step, train_epoch and the ResNet-20 step: checked against numpy, then timed."""
    from benchmarks.cases import make_case
    from benchmarks.worker import run_case
    if framework == "ours":
        from benchmarks.frameworks import ours_fw as fw
    else:
        from benchmarks.frameworks import numpy_fw as fw
    fw.setup(2)
    timing = {"min_repeats": 2, "min_time": 0.0, "warmup_time": 0.0, "max_time": 1.0}
    cases = [make_case("cross_entropy", shape=(16, 7)), make_case("optim_step", numel=1000, tensors=3),
             make_case("train_epoch", model="lenet5", batch=32, images=96)]
    if framework == "ours":
        cases.append(make_case("train_step", model="resnet20", batch=16))
    for case in cases:
        r = run_case(fw, case.to_dict(), timing, framework)
        assert r["status"] == "ok", (case.id, r)
        assert r["median"] > 0


def test_optim_step_check_catches_a_wrong_update(monkeypatch):
    """A broken Adam (bias correction dropped) fails the optim_step check."""
    import optim
    from benchmarks.cases import make_case
    from benchmarks.frameworks import ours_fw as fw
    from benchmarks.worker import run_case
    fw.setup(2)
    orig = optim.Adam.__init__

    def broken(self, params, lr=1e-3, **kw):
        orig(self, params, lr=lr * 1.5, **kw)
    monkeypatch.setattr(optim.Adam, "__init__", broken)
    r = run_case(fw, make_case("optim_step", numel=100, tensors=2).to_dict(), {"min_repeats": 1}, "ours")
    assert r["status"] == "failed" and "p0" in r["error"]
