"""Memory is freed by reference counting: no op makes a reference cycle with the graph, and a node
keeps nothing for backward after its backward ran (issue "Reliability", memory and lifetime).

Every public op has a sample call in ``SAMPLES`` (a test fails for an op without one): with the
garbage collector off, dropping the output must free its node at once, and after ``backward()``
the node must hold nothing but the graph's structure.
"""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd_core as ag
import nn
import nn.functional as F
from autograd_core import ops
from autograd_core.function import _KEEP


def _x(shape=(2, 3, 6, 6), low=0.5, high=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return ag.tensor(rng.uniform(low, high, shape), requires_grad=True)


def _labels(n=2, c=3):
    return ag.tensor(np.arange(n) % c)


# name -> a call of that op on fresh leaves; the result (or its first element) is the op's output
SAMPLES = {
    "abs": lambda: ag.abs(_x()),
    "absolute": lambda: ag.absolute(_x()),
    "adaptive_avg_pool1d": lambda: ag.adaptive_avg_pool1d(_x((2, 3, 7)), 3),
    "adaptive_avg_pool2d": lambda: ag.adaptive_avg_pool2d(_x(), 2),
    "add": lambda: ag.add(_x(), _x(seed=1)),
    "all": lambda: ag.all(_x() > 1),
    "allclose": lambda: ag.allclose(_x(), _x()),
    "amax": lambda: ag.amax(_x(), 1),
    "amin": lambda: ag.amin(_x(), 1),
    "any": lambda: ag.any(_x() > 1),
    "argmax": lambda: ag.argmax(_x()),
    "argmin": lambda: ag.argmin(_x()),
    "avg_pool1d": lambda: ag.avg_pool1d(_x((2, 3, 8)), 2),
    "avg_pool2d": lambda: ag.avg_pool2d(_x(), 2),
    "batch_norm": lambda: ag.batch_norm(
        _x(), ag.zeros(3, dtype=np.float64), ag.ones(3, dtype=np.float64), _x((3,)), _x((3,)), training=True
    ),
    "binary_cross_entropy": lambda: ag.binary_cross_entropy(_x((4,), 0.1, 0.9), ag.tensor([0.0, 1.0, 1.0, 0.0])),
    "binary_cross_entropy_with_logits": lambda: ag.binary_cross_entropy_with_logits(
        _x((4,)), ag.tensor([0.0, 1.0, 1.0, 0.0])
    ),
    "bitwise_and": lambda: ag.bitwise_and(ag.tensor([6, 3]), ag.tensor([3, 5])),
    "bitwise_not": lambda: ag.bitwise_not(ag.tensor([6, 3])),
    "bitwise_or": lambda: ag.bitwise_or(ag.tensor([6, 3]), ag.tensor([3, 5])),
    "bitwise_xor": lambda: ag.bitwise_xor(ag.tensor([6, 3]), ag.tensor([3, 5])),
    "broadcast_to": lambda: ag.broadcast_to(_x((3, 1)), (3, 4)),
    "cat": lambda: ag.cat([_x(), _x(seed=1)], 1),
    "concatenate": lambda: ag.concatenate([_x(), _x(seed=1)]),
    "clamp": lambda: ag.clamp(_x(), 0.8, 1.5),
    "clamp (tensor bounds)": lambda: ag.clamp(_x(), _x((6,), seed=1) - 0.5, _x((6,), seed=2) + 0.5),
    "remainder (tensor divisor)": lambda: ag.remainder(_x(), _x(seed=1)),
    "clip": lambda: ag.clip(_x(), 0.8, 1.5),
    "clone": lambda: ag.clone(_x()),
    "conv1d": lambda: ag.conv1d(_x((2, 3, 8)), _x((4, 3, 3))),
    "conv2d": lambda: ag.conv2d(_x(), _x((4, 3, 3, 3)), _x((4,))),
    "conv_transpose1d": lambda: ag.conv_transpose1d(_x((2, 3, 5)), _x((3, 2, 3)), stride=2),
    "conv_transpose2d": lambda: ag.conv_transpose2d(_x(), _x((3, 2, 3, 3)), stride=2),
    "convolve2d": lambda: ag.convolve2d(_x((6, 6)), _x((3, 3))),
    "correlate2d": lambda: ag.correlate2d(_x((6, 6)), _x((3, 3))),
    "cos": lambda: ag.cos(_x()),
    "cross_entropy": lambda: ag.cross_entropy(_x((2, 3)), _labels()),
    "div": lambda: ag.div(_x(), _x(seed=1)),
    "divide": lambda: ag.divide(_x(), _x(seed=1)),
    "dot": lambda: ag.dot(_x((4,)), _x((4,), seed=1)),
    "dropout": lambda: ag.dropout(_x(), 0.5),
    "elu": lambda: ag.elu(_x(low=-1.0)),
    "eq": lambda: ag.eq(_x(), 1.0),
    "equal": lambda: ag.equal(_x(), _x()),
    "exp": lambda: ag.exp(_x()),
    "expand": lambda: ag.expand(_x((3, 1)), 3, 4),
    "expand_as": lambda: ag.expand_as(_x((3, 1)), ag.zeros(3, 4)),
    "flatten": lambda: ag.flatten(_x()),
    "floor_divide": lambda: ag.floor_divide(_x(), 0.3),
    "ge": lambda: ag.ge(_x(), 1.0),
    "gt": lambda: ag.gt(_x(), 1.0),
    "hardshrink": lambda: ag.hardshrink(_x(low=-2.0)),
    "isfinite": lambda: ag.isfinite(_x()),
    "isnan": lambda: ag.isnan(_x()),
    "l1_loss": lambda: ag.l1_loss(_x(), _x(seed=1)),
    "le": lambda: ag.le(_x(), 1.0),
    "leaky_relu": lambda: ag.leaky_relu(_x(low=-1.0)),
    "linear": lambda: ag.linear(_x((2, 4)), _x((3, 4)), _x((3,))),
    "log": lambda: ag.log(_x()),
    "log_softmax": lambda: ag.log_softmax(_x(), 1),
    "logical_and": lambda: ag.logical_and(_x() > 1, _x() < 1.5),
    "logical_not": lambda: ag.logical_not(_x() > 1),
    "logical_or": lambda: ag.logical_or(_x() > 1, _x() < 1.5),
    "logsumexp": lambda: ag.logsumexp(_x(), 1),
    "lt": lambda: ag.lt(_x(), 1.0),
    "matmul": lambda: ag.matmul(_x((2, 3)), _x((3, 4))),
    "max": lambda: ag.max(_x(), 1).values,
    "max_pool1d": lambda: ag.max_pool1d(_x((2, 3, 8)), 2),
    "max_pool2d": lambda: ag.max_pool2d(_x(), 2, return_indices=True)[0],
    "maximum": lambda: ag.maximum(_x(), _x(seed=1)),
    "mean": lambda: ag.mean(_x()),
    "min": lambda: ag.min(_x(), 1).values,
    "minimum": lambda: ag.minimum(_x(), _x(seed=1)),
    "mm": lambda: ag.mm(_x((2, 3)), _x((3, 4))),
    "mse_loss": lambda: ag.mse_loss(_x(), _x(seed=1)),
    "mul": lambda: ag.mul(_x(), _x(seed=1)),
    "multiply": lambda: ag.multiply(_x(), _x(seed=1)),
    "ne": lambda: ag.ne(_x(), 1.0),
    "neg": lambda: ag.neg(_x()),
    "negative": lambda: ag.negative(_x()),
    "nll_loss": lambda: ag.nll_loss(_x((2, 3)), _labels()),
    "one_hot": lambda: ag.one_hot(_labels()),
    "pad": lambda: ag.pad(_x(), (1, 1, 1, 1)),
    "permute": lambda: ag.permute(_x(), (0, 2, 3, 1)),
    "pow": lambda: ag.pow(_x(), _x(seed=1)),
    "reciprocal": lambda: ag.reciprocal(_x()),
    "relu": lambda: ag.relu(_x(low=-1.0)),
    "remainder": lambda: ag.remainder(_x(), 0.3),
    "reshape": lambda: ag.reshape(_x(), (6, 36)),
    "sigmoid": lambda: ag.sigmoid(_x()),
    "sign": lambda: ag.sign(_x()),
    "sin": lambda: ag.sin(_x()),
    "softmax": lambda: ag.softmax(_x(), 1),
    "softplus": lambda: ag.softplus(_x()),
    "sqrt": lambda: ag.sqrt(_x()),
    "square": lambda: ag.square(_x()),
    "squeeze": lambda: ag.squeeze(_x((2, 1, 3))),
    "stack": lambda: ag.stack([_x(), _x(seed=1)]),
    "std": lambda: ag.std(_x(), 1),
    "sub": lambda: ag.sub(_x(), _x(seed=1)),
    "subtract": lambda: ag.subtract(_x(), _x(seed=1)),
    "sum": lambda: ag.sum(_x(), 1),
    "sum_to": lambda: ag.sum_to(_x((2, 3)), (1, 3)),
    "t": lambda: ag.t(_x((2, 3))),
    # the multi-tensor optimizer updates work on arrays and record nothing
    "foreach_usable": lambda: ag.foreach_usable([np.ones(3)], [np.ones(3)]),
    "foreach_sgd_": lambda: ag.foreach_sgd_([np.ones(3)], [np.ones(3)], [], [False], 0.1, 0.0, 0.0, False),
    "foreach_adam_": lambda: ag.foreach_adam_([np.ones(3)], [np.ones(3)], [np.zeros(3)], [np.zeros(3)], [],
                                              [-0.1], [0.03], 0.9, 0.999, 1e-8),
    "tanh": lambda: ag.tanh(_x()),
    "transpose": lambda: ag.transpose(_x(), 1, 2),
    "unsqueeze": lambda: ag.unsqueeze(_x(), 0),
    "var": lambda: ag.var(_x(), 1),
    "view": lambda: ag.view(_x(), 6, 36),
    "view_as": lambda: ag.view_as(_x(), ag.zeros(6, 36)),
    "where": lambda: ag.where(_x() > 1.2, _x(), _x(seed=1)),
    # issue 14's tensor ops
    "acos": lambda: ag.acos(_x(low=-0.9, high=0.9)),
    "acosh": lambda: ag.acosh(_x(low=1.5, high=3.0)),
    "addcdiv": lambda: ag.addcdiv(_x(), _x(seed=1), _x(seed=2)),
    "addcmul": lambda: ag.addcmul(_x(), _x(seed=1), _x(seed=2)),
    "addmm": lambda: ag.addmm(_x((4,)), _x((2, 3)), _x((3, 4))),
    "addmv": lambda: ag.addmv(_x((2,)), _x((2, 3)), _x((3,))),
    "addr": lambda: ag.addr(_x((2, 3)), _x((2,)), _x((3,))),
    "arccos": lambda: ag.arccos(_x(low=-0.9, high=0.9)),
    "arccosh": lambda: ag.arccosh(_x(low=1.5, high=3.0)),
    "arcsin": lambda: ag.arcsin(_x(low=-0.9, high=0.9)),
    "arcsinh": lambda: ag.arcsinh(_x()),
    "arctan": lambda: ag.arctan(_x()),
    "arctan2": lambda: ag.arctan2(_x(), _x(seed=1)),
    "arctanh": lambda: ag.arctanh(_x(low=-0.9, high=0.9)),
    "argsort": lambda: ag.argsort(_x()),
    "argwhere": lambda: ag.argwhere(_x() > 1),
    "asin": lambda: ag.asin(_x(low=-0.9, high=0.9)),
    "asinh": lambda: ag.asinh(_x()),
    "atan": lambda: ag.atan(_x()),
    "atan2": lambda: ag.atan2(_x(), _x(seed=1)),
    "atanh": lambda: ag.atanh(_x(low=-0.9, high=0.9)),
    "baddbmm": lambda: ag.baddbmm(_x((2, 3, 4)), _x((2, 3, 5)), _x((2, 5, 4))),
    "bmm": lambda: ag.bmm(_x((2, 3, 5)), _x((2, 5, 4))),
    "cdist": lambda: ag.cdist(_x((30, 3)), _x((4, 3), seed=1)),
    "ceil": lambda: ag.ceil(_x()),
    "chunk": lambda: ag.chunk(_x(), 2, 1),
    "clamp_max": lambda: ag.clamp_max(_x(), 1.5),
    "clamp_min": lambda: ag.clamp_min(_x(), 0.8),
    "cosh": lambda: ag.cosh(_x()),
    "cosine_similarity": lambda: ag.cosine_similarity(_x(), _x(seed=1)),
    "cumprod": lambda: ag.cumprod(_x(), 1),
    "cumsum": lambda: ag.cumsum(_x(), 1),
    "diag": lambda: ag.diag(_x((3, 4))),
    "diag_embed": lambda: ag.diag_embed(_x((2, 3))),
    "diagonal": lambda: ag.diagonal(_x()),
    "dist": lambda: ag.dist(_x(), _x(seed=1)),
    "einsum": lambda: ag.einsum("nchw,kc->nkhw", _x(), _x((4, 3))),
    "erf": lambda: ag.erf(_x()),
    "erfc": lambda: ag.erfc(_x()),
    "erfinv": lambda: ag.erfinv(_x(low=-0.9, high=0.9)),
    "exp2": lambda: ag.exp2(_x()),
    "expm1": lambda: ag.expm1(_x()),
    "fix": lambda: ag.fix(_x()),
    "flip": lambda: ag.flip(_x(), (1, 3)),
    "fliplr": lambda: ag.fliplr(_x()),
    "flipud": lambda: ag.flipud(_x()),
    "floor": lambda: ag.floor(_x()),
    "frac": lambda: ag.frac(_x()),
    "gather": lambda: ag.gather(_x((3, 4)), 1, ag.tensor([[0, 3], [1, 1], [2, 0]])),
    "ger": lambda: ag.ger(_x((2,)), _x((3,))),
    "hypot": lambda: ag.hypot(_x(), _x(seed=1)),
    "index_add": lambda: ag.index_add(_x((3, 4)), 0, ag.tensor([0, 0]), _x((2, 4))),
    "index_select": lambda: ag.index_select(_x(), 1, ag.tensor([2, 0])),
    "inner": lambda: ag.inner(_x((2, 3)), _x((4, 3))),
    "isinf": lambda: ag.isinf(_x()),
    "isneginf": lambda: ag.isneginf(_x()),
    "isposinf": lambda: ag.isposinf(_x()),
    "kron": lambda: ag.kron(_x((2, 3)), _x((2, 2))),
    "kthvalue": lambda: ag.kthvalue(_x(), 2),
    "lerp": lambda: ag.lerp(_x(), _x(seed=1), _x(seed=2)),
    "log10": lambda: ag.log10(_x()),
    "log1p": lambda: ag.log1p(_x()),
    "log2": lambda: ag.log2(_x()),
    "masked_fill": lambda: ag.masked_fill(_x(), _x().data > 1, 0.0),
    "masked_select": lambda: ag.masked_select(_x(), _x().data > 1),
    "median": lambda: ag.median(_x(), 1),
    "mode": lambda: ag.mode(_x(), 1),
    "moveaxis": lambda: ag.moveaxis(_x(), 1, -1),
    "movedim": lambda: ag.movedim(_x(), (0, 1), (2, 3)),
    "msort": lambda: ag.msort(_x()),
    "mv": lambda: ag.mv(_x((2, 3)), _x((3,))),
    "nan_to_num": lambda: ag.nan_to_num(_x()),
    "nanmedian": lambda: ag.nanmedian(_x(), 1),
    "narrow": lambda: ag.narrow(_x(), 2, 1, 3),
    "nonzero": lambda: ag.nonzero(_x() > 1),
    "norm": lambda: ag.norm(_x((3, 4)), "nuc"),
    "outer": lambda: ag.outer(_x((2,)), _x((3,))),
    "prod": lambda: ag.prod(_x(), 1),
    "repeat_interleave": lambda: ag.repeat_interleave(_x(), 2, 1),
    "roll": lambda: ag.roll(_x(), 2, 3),
    "rot90": lambda: ag.rot90(_x(), 1, (2, 3)),
    "round": lambda: ag.round(_x()),
    "rsqrt": lambda: ag.rsqrt(_x()),
    "rsub": lambda: ag.rsub(_x(), 2.0),
    "scatter": lambda: ag.scatter(_x((3, 4)), 1, ag.tensor([[0], [2], [1]]), _x((3, 1))),
    "scatter_add": lambda: ag.scatter_add(_x((3, 4)), 1, ag.tensor([[0, 0], [2, 1], [1, 1]]), _x((3, 2))),
    "sinh": lambda: ag.sinh(_x()),
    "sort": lambda: ag.sort(_x(), 1),
    "split": lambda: ag.split(_x(), [2, 4], 3),
    "take": lambda: ag.take(_x(), ag.tensor([0, -1, 7])),
    "take_along_dim": lambda: ag.take_along_dim(_x((3, 4)), ag.tensor([[0], [-1], [2]]), 1),
    "tan": lambda: ag.tan(_x(low=-1.0, high=1.0)),
    "tensordot": lambda: ag.tensordot(_x(), _x((6, 6, 2)), 2),
    "tile": lambda: ag.tile(_x(), (2, 1)),
    "topk": lambda: ag.topk(_x(), 2),
    "tril": lambda: ag.tril(_x()),
    "triu": lambda: ag.triu(_x(), 1),
    "trunc": lambda: ag.trunc(_x()),
    "unbind": lambda: ag.unbind(_x(), 1),
    "unique": lambda: ag.unique(ag.tensor([3, 1, 3])),
    "unique_consecutive": lambda: ag.unique_consecutive(ag.tensor([3, 3, 1])),
    # activations (ops/activation.py)
    "gelu": lambda: ag.gelu(_x(low=-2.0)),
    "silu": lambda: ag.silu(_x(low=-2.0)),
    "mish": lambda: ag.mish(_x(low=-2.0)),
    "hardswish": lambda: ag.hardswish(_x(low=-4.0, high=4.0)),
    "hardsigmoid": lambda: ag.hardsigmoid(_x(low=-4.0, high=4.0)),
    "hardtanh": lambda: ag.hardtanh(_x(low=-2.0)),
    "relu6": lambda: ag.relu6(_x(low=-2.0, high=8.0)),
    "logsigmoid": lambda: ag.logsigmoid(_x(low=-2.0)),
    "softmin": lambda: ag.softmin(_x(), 1),
    "prelu": lambda: ag.prelu(_x(low=-2.0), _x((3,))),
    "selu": lambda: ag.selu(_x(low=-2.0)),
    "celu": lambda: ag.celu(_x(low=-2.0), 0.5),
    "softsign": lambda: ag.softsign(_x(low=-2.0)),
    "tanhshrink": lambda: ag.tanhshrink(_x(low=-2.0)),
    "threshold": lambda: ag.threshold(_x(), 1.0, -1.0),
    "glu": lambda: ag.glu(_x(), 2),
    "softshrink": lambda: ag.softshrink(_x(low=-2.0)),
    "rrelu": lambda: ag.rrelu(_x(low=-2.0), training=True),
    # normalisation (ops/norm.py)
    "layer_norm": lambda: ag.layer_norm(_x(), (6, 6), _x((6, 6)), _x((6, 6))),
    "group_norm": lambda: ag.group_norm(_x(), 3, _x((3,)), _x((3,))),
    "instance_norm": lambda: ag.instance_norm(_x(), ag.zeros(3, dtype=np.float64), ag.ones(3, dtype=np.float64)),
    "local_response_norm": lambda: ag.local_response_norm(_x(), 2),
    "normalize": lambda: ag.normalize(_x()),
    # losses (ops/loss.py)
    "smooth_l1_loss": lambda: ag.smooth_l1_loss(_x(), _x(seed=1)),
    "huber_loss": lambda: ag.huber_loss(_x(), _x(seed=1)),
    "kl_div": lambda: ag.kl_div(_x(low=-2.0, high=-0.1), _x(seed=1), reduction="batchmean"),
    "soft_margin_loss": lambda: ag.soft_margin_loss(_x((4,)), ag.tensor([1.0, -1.0, 1.0, -1.0])),
    "multi_margin_loss": lambda: ag.multi_margin_loss(_x((2, 3)), _labels()),
    "multilabel_soft_margin_loss": lambda: ag.multilabel_soft_margin_loss(_x((2, 3)), ag.ones(2, 3)),
    "cosine_embedding_loss": lambda: ag.cosine_embedding_loss(_x((2, 3)), _x((2, 3), seed=1), ag.tensor([1, -1])),
    "margin_ranking_loss": lambda: ag.margin_ranking_loss(_x((4,)), _x((4,), seed=1), ag.tensor([1.0, -1.0, 1.0, 1.0])),
    "pairwise_distance": lambda: ag.pairwise_distance(_x((2, 3)), _x((2, 3), seed=1)),
    "triplet_margin_loss": lambda: ag.triplet_margin_loss(_x((2, 3)), _x((2, 3), seed=1), _x((2, 3), seed=2)),
    "triplet_margin_with_distance_loss": lambda: ag.triplet_margin_with_distance_loss(
        _x((2, 3)), _x((2, 3), seed=1), _x((2, 3), seed=2)),
    "poisson_nll_loss": lambda: ag.poisson_nll_loss(_x(), _x(seed=1), full=True),
    "gaussian_nll_loss": lambda: ag.gaussian_nll_loss(_x(), _x(seed=1), _x(seed=2)),
    "hinge_embedding_loss": lambda: ag.hinge_embedding_loss(_x((4,)), ag.tensor([1.0, -1.0, 1.0, -1.0])),
    # dropout (ops/dropout.py)
    "dropout1d": lambda: ag.dropout1d(_x((2, 3, 8)), 0.5),
    "dropout2d": lambda: ag.dropout2d(_x(), 0.5),
    "dropout3d": lambda: ag.dropout3d(_x((2, 3, 2, 2, 2)), 0.5),
    "alpha_dropout": lambda: ag.alpha_dropout(_x(), 0.5, training=True),
    "feature_alpha_dropout": lambda: ag.feature_alpha_dropout(_x(), 0.5, training=True),
    # layers (ops/layers.py, ops/vision.py, ops/pool.py)
    "embedding": lambda: ag.embedding(ag.tensor([[0, 2], [2, 1]]), _x((3, 4)), padding_idx=1),
    "bilinear": lambda: ag.bilinear(_x((2, 3)), _x((2, 4)), _x((5, 3, 4)), _x((5,))),
    "interpolate": lambda: ag.interpolate(_x(), scale_factor=1.5, mode="bicubic"),
    "upsample": lambda: ag.upsample(_x(), scale_factor=2, mode="bilinear"),
    "upsample_nearest": lambda: ag.upsample_nearest(_x(), scale_factor=2),
    "upsample_bilinear": lambda: ag.upsample_bilinear(_x(), size=(5, 7)),
    "pixel_shuffle": lambda: ag.pixel_shuffle(_x((2, 8, 3, 3)), 2),
    "pixel_unshuffle": lambda: ag.pixel_unshuffle(_x(), 2),
    "unfold": lambda: ag.unfold(_x(), 3, padding=1),
    "fold": lambda: ag.fold(_x((2, 12, 16)), (5, 5), 2),
    "adaptive_max_pool1d": lambda: ag.adaptive_max_pool1d(_x((2, 3, 7)), 3),
    "adaptive_max_pool2d": lambda: ag.adaptive_max_pool2d(_x(), 4, return_indices=True)[0],
}


def _out(res):
    return res[0] if isinstance(res, (tuple, list)) else res


def test_every_public_op_has_a_lifetime_sample():
    missing = sorted(set(ops.PUBLIC) - set(SAMPLES))
    assert not missing, f"add a sample call to SAMPLES in tests/test_lifetime.py for: {missing}"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_dropping_the_output_frees_the_graph_without_gc(name):
    gc.collect()
    gc.disable()
    try:
        out = _out(SAMPLES[name]())
        node = getattr(out, "grad_fn", None)
        if node is None:
            return  # not differentiable (comparisons, argmax, ...): nothing recorded
        ref = weakref.ref(node)
        data_ref = weakref.ref(out)
        del out, node
        assert data_ref() is None
        assert ref() is None, f"{name}: its node outlived its output (a reference cycle)"
    finally:
        gc.enable()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_node_keeps_nothing_after_its_backward(name):
    out = _out(SAMPLES[name]())
    if not getattr(out, "requires_grad", False):
        return
    node = out.grad_fn
    out.backward(ag.ones_like(out))
    kept = set(vars(node)) - _KEEP - {"_freed"}
    assert not kept, f"{name}: {type(node).__name__} still holds {sorted(kept)} after backward"
    assert node._freed


def test_second_backward_through_a_released_ctx_attribute_names_the_op():
    x = _x(low=-1.0)
    y = ag.relu(x)  # ReLU keeps its mask as a ctx attribute, not a saved tensor
    y.backward(ag.ones_like(y))
    with pytest.raises(RuntimeError, match=r"ReluBackward.*second time.*retain_graph=True"):
        y.backward(ag.ones_like(y))


def test_retain_graph_keeps_what_backward_needs():
    x = _x(low=-1.0)
    y = ag.max_pool2d(ag.relu(x), 2)
    y.backward(ag.ones_like(y), retain_graph=True)
    g1 = x.grad.numpy().copy()
    y.backward(ag.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1)


def test_an_exception_in_backward_keeps_nothing_alive():
    class Boom(ag.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    gc.collect()
    gc.disable()
    try:
        x = _x()
        y = Boom.apply(x.exp())  # exp saves its own output: the cycle this used to make
        refs = [weakref.ref(y.grad_fn), weakref.ref(y.grad_fn._next[0][0])]
        with pytest.raises(ValueError, match="boom"):
            y.sum().backward()
        del y
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def _lenet():
    ag.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def test_keeping_every_loss_does_not_keep_every_graph():
    """``losses.append(loss)`` keeps the graph's structure (a few hundred bytes per node), not its arrays."""
    model = _lenet()
    opt = __import__("optim").SGD(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = ag.tensor(rng.standard_normal((16, 1, 28, 28)).astype(np.float32))
    y = ag.tensor(rng.integers(0, 10, 16))
    losses = []

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss)

    for _ in range(3):
        step()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            step()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    activations = 16 * (6 * 28 * 28 + 6 * 14 * 14 + 16 * 10 * 10) * 4 * 3  # about 0.6 MB per step
    assert grown < 10 * activations / 20, f"kept {grown / 1e6:.2f} MB over 10 steps"
