"""autograd_core.utils.checkpoint: the same gradients as without it, less kept between forward and backward.

The reference is always the same computation without checkpointing, from the
same random state (so dropout draws the same masks), in float64.
"""

import gc
import weakref

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core.utils.checkpoint import checkpoint, checkpoint_sequential, is_recomputing


def make_model():
    ag.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(4 * 4 * 4, 3),
    ).double()


def run(model, x, y, how):
    if how == "plain":
        out = model(x)
    elif how == "checkpoint":
        out = checkpoint(model, x)
    else:
        out = checkpoint_sequential(model, how, x)
    return F.cross_entropy(out, y)


def data(seed=1):
    rng = np.random.default_rng(seed)
    x = ag.tensor(rng.standard_normal((6, 2, 8, 8)), requires_grad=True)
    y = ag.tensor(rng.integers(0, 3, 6))
    return x, y


@pytest.mark.parametrize("how", ["checkpoint", 2, 3])
def test_gradients_equal_the_plain_ones_with_dropout_and_batch_norm(how):
    x, y = data()
    ref_model, model = make_model(), make_model()
    ag.manual_seed(5)
    loss_ref = run(ref_model, x, y, "plain")
    loss_ref.backward()
    ref_xgrad = x.grad.numpy().copy()
    after_ref = ag.rand(3).numpy()      # the random stream after a plain step
    x.grad = None
    ag.manual_seed(5)
    loss = run(model, x, y, how)
    loss.backward()
    assert loss.item() == loss_ref.item()
    np.testing.assert_allclose(x.grad.numpy(), ref_xgrad, rtol=1e-12, atol=1e-14)
    for (n, p), (_, q) in zip(model.named_parameters(), ref_model.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=n)
    # batch norm's running statistics moved once (the recomputation does not count the batch again)
    np.testing.assert_allclose(model[1].running_mean.numpy(), ref_model[1].running_mean.numpy(), rtol=1e-14)
    np.testing.assert_allclose(model[1].running_var.numpy(), ref_model[1].running_var.numpy(), rtol=1e-14)
    assert int(model[1].num_batches_tracked.item()) == 1
    # the recomputation restored the random state: the stream continues as after a plain step
    np.testing.assert_array_equal(ag.rand(3).numpy(), after_ref)


def test_dropout_masks_matter_so_the_rng_state_must_be_preserved():
    x, y = data()
    ref_model, model = make_model(), make_model()
    ag.manual_seed(5)
    run(ref_model, x, y, "plain").backward()
    ref = x.grad.numpy().copy()
    x.grad = None
    ag.manual_seed(5)
    F.cross_entropy(checkpoint(model, x, preserve_rng_state=False), y).backward()
    assert not np.allclose(x.grad.numpy(), ref)   # other masks in the recomputation: other gradients


def test_works_with_grad_and_keyword_arguments():
    rng = np.random.default_rng(2)
    x = ag.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = ag.tensor(rng.standard_normal((4, 4)), requires_grad=True)
    s = ag.tensor(rng.standard_normal(4), requires_grad=True)

    def f(a, scale=None, power=2):
        return ((a @ w).tanh() * scale) ** power

    ref = ag.grad(f(x, scale=s, power=3).sum(), [x, w, s])
    got = ag.grad(checkpoint(f, x, scale=s, power=3).sum(), [x, w, s])
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    assert x.grad is None and w.grad is None       # grad() touched no .grad


def test_tuple_outputs_and_non_tensor_outputs():
    x = ag.tensor(np.arange(4.0), requires_grad=True)

    def f(a):
        return a.exp(), "label", a.sin()

    e, label, s = checkpoint(f, x)
    assert label == "label"
    (e.sum() + 2 * s.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.arange(4.0)) + 2 * np.cos(np.arange(4.0)))


def test_the_segment_keeps_nothing_between_forward_and_backward():
    """An intermediate array of the segment is freed when checkpoint returns; without it, it lives on."""
    x = ag.tensor(np.random.default_rng(3).standard_normal((50, 50)), requires_grad=True)
    refs = []

    def f(a):
        h = a.tanh()        # TanhBackward saves its output h
        refs.append(weakref.ref(h.data))
        return (h * 3.0).sum()

    plain = f(x)
    gc.collect()
    assert refs[-1]() is not None
    out = checkpoint(f, x)
    gc.collect()
    assert refs[-1]() is None
    out.backward()
    plain.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3.0 * (1 - np.tanh(x.data) ** 2))


def test_batch_norm_sees_is_recomputing_only_during_the_recomputation():
    seen = []
    x = ag.tensor(np.ones(3), requires_grad=True)

    def f(a):
        seen.append(is_recomputing())
        return a * 2

    checkpoint(f, x).sum().backward()
    assert seen == [False, True] and not is_recomputing()


def test_nested_checkpoints():
    rng = np.random.default_rng(4)
    x = ag.tensor(rng.standard_normal(5), requires_grad=True)
    w = ag.tensor(rng.standard_normal(5), requires_grad=True)

    def inner(a):
        return (a * w).sin()

    def outer(a):
        return checkpoint(inner, a.exp()).cos()

    ref = ag.grad(outer(x).sum(), [x, w])
    got = ag.grad(checkpoint(outer, x).sum(), [x, w])
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_under_no_grad_it_is_a_plain_call():
    x = ag.tensor(np.ones(3), requires_grad=True)
    with ag.no_grad():
        out = checkpoint(lambda a: a * 2, x)
    assert not out.requires_grad and out.grad_fn is None


def test_errors():
    x = ag.tensor(np.ones(3), requires_grad=True)
    # a second derivative through a checkpointed segment
    y = checkpoint(lambda a: (a ** 3).sum(), x)
    with pytest.raises(RuntimeError, match="create_graph=True.*not supported"):
        ag.grad(y, x, create_graph=True)
    # an input modified in place before backward
    z = x * 1.0
    y = checkpoint(lambda a: (a ** 2).sum(), z)
    with ag.no_grad():
        z.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    # a function that runs other ops the second time
    calls = []

    def moody(a):
        calls.append(1)
        return (a * 2).sum() if len(calls) == 1 else (a.exp() + 1).sum()

    with pytest.raises(RuntimeError, match="different ops"):
        checkpoint(moody, x).backward()
    with pytest.raises(ValueError, match="segments must be an int"):
        checkpoint_sequential(nn.Sequential(nn.ReLU(), nn.ReLU()), 3, x)
    with pytest.raises(TypeError, match="use_reentrant"):
        checkpoint(lambda a: a, x, use_reentrant="no")
