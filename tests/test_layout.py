"""The layout rules of CONTRIBUTING.md, pinned: ops are declared once and reachable where PyTorch users
look for them; ``nn`` and ``optim`` use public names only and define no Function."""

import ast
import inspect
import pathlib

import pytest

import autograd_core as ag
import nn.functional as F
from autograd_core import ops

ROOT = pathlib.Path(__file__).resolve().parents[1]

# PyTorch's Tensor methods and torch.nn.functional names (from PyTorch's documentation) that users reach
# for; wherever autograd_core has the op, it must be reachable in the same place.
TORCH_TENSOR_METHODS = set("""
abs absolute add all allclose amax amin any argmax argmin broadcast_to clamp clip clone contiguous cos
div divide dot elu equal eq exp expand expand_as flatten floor_divide ge gt isfinite isnan le leaky_relu
log log_softmax logical_and logical_not logical_or logsumexp lt matmul max maximum mean min minimum mm mul
multiply ne neg negative permute pow reciprocal relu remainder reshape reshape_as sigmoid sign sin softmax
sqrt square squeeze std sub subtract sum t tanh transpose unsqueeze var view view_as where
acos acosh addcdiv addcmul addmm addmv addr arccos arccosh arcsin arcsinh arctan arctan2 arctanh argsort argwhere
asin asinh atan atan2 atanh baddbmm bmm ceil chunk clamp_max clamp_min cosh cumprod cumsum diag diag_embed diagonal
dist erf erfc erfinv exp2 expm1 fix flip fliplr flipud floor frac gather ger hypot index_add index_add_ index_select
inner is_contiguous isinf isneginf isposinf kron kthvalue lerp log10 log1p log2 masked_fill masked_fill_
masked_select median mode moveaxis movedim msort mv nan_to_num nanmedian narrow new_empty new_full new_ones
new_tensor new_zeros nonzero norm outer prod repeat repeat_interleave roll rot90 round rsqrt scatter scatter_
scatter_add scatter_add_ sinh sort split take take_along_dim tan tile topk tril tril_ triu triu_ trunc unbind unique
unique_consecutive prelu
""".split())
TORCH_FUNCTIONAL = set("""
adaptive_avg_pool1d adaptive_avg_pool2d avg_pool1d avg_pool2d batch_norm binary_cross_entropy
binary_cross_entropy_with_logits conv1d conv2d conv_transpose1d conv_transpose2d cross_entropy dropout elu
l1_loss leaky_relu linear log_softmax max_pool1d max_pool2d mse_loss nll_loss one_hot pad relu sigmoid
softmax softplus tanh
gelu silu mish hardswish hardsigmoid hardtanh relu6 logsigmoid softmin prelu selu celu softsign tanhshrink threshold
glu softshrink rrelu layer_norm group_norm instance_norm local_response_norm normalize smooth_l1_loss huber_loss
kl_div soft_margin_loss multi_margin_loss multilabel_soft_margin_loss cosine_embedding_loss margin_ranking_loss
pairwise_distance triplet_margin_loss triplet_margin_with_distance_loss poisson_nll_loss gaussian_nll_loss
hinge_embedding_loss dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout interpolate upsample
upsample_nearest upsample_bilinear pixel_shuffle pixel_unshuffle unfold fold adaptive_max_pool1d adaptive_max_pool2d
embedding bilinear
cosine_similarity
""".split())


def test_every_declared_op_is_a_package_function():
    for name, op in ops.PUBLIC.items():
        assert getattr(ag, name) is op, f"autograd_core.{name} is not the op declared in ops"


def test_every_marked_op_is_a_tensor_method_and_a_functional_entry():
    for name, impl in ops.METHODS.items():
        assert getattr(ag.Tensor, name) is impl or name in vars(ag.Tensor), f"Tensor.{name} missing"
    for name, op in ops.FUNCTIONAL.items():
        assert getattr(F, name) is op
    assert set(F.__all__) == set(ops.FUNCTIONAL)


def test_ops_are_where_pytorch_users_look_for_them():
    have = set(ops.PUBLIC) | set(ops.METHODS) | set(dir(ag.Tensor))
    missing_methods = sorted(n for n in TORCH_TENSOR_METHODS if n in have and not hasattr(ag.Tensor, n))
    assert not missing_methods, f"ops without their PyTorch Tensor method: {missing_methods}"
    missing_f = sorted(n for n in TORCH_FUNCTIONAL if n in ops.PUBLIC and not hasattr(F, n))
    assert not missing_f, f"ops missing from nn.functional: {missing_f}"
    # and the lists are not vacuous: everything named there exists today
    assert TORCH_FUNCTIONAL <= set(F.__all__)
    assert TORCH_TENSOR_METHODS <= set(dir(ag.Tensor))


def test_a_method_computes_what_its_function_computes():
    x = ag.tensor([[0.5, -1.0], [2.0, 3.0]])
    for name in ("exp", "relu", "sigmoid", "sum", "t", "abs", "square"):
        assert ag.allclose(getattr(x, name)(), getattr(ag, name)(x)), name
    assert ag.allclose(x.where(x > 0, 0.0), ag.where(x > 0, x, 0.0))


def _python_files(*folders):
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _private_uses(tree):
    """Imports of kernels or engine-private modules/names, and private attributes of engine objects."""
    bad = []
    engine_private = ("_wrap", "_ver", "_state", "_saved", "_next", "_base", "_output_nr", "_hooks")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograd_core"):
            parts = node.module.split(".")
            if "kernels" in parts or any(p.startswith("_") for p in parts) or parts[:2] == ["autograd_core", "function"]:
                bad.append(f"from {node.module} import ...")
            bad += [f"from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.startswith("autograd_core")
                    and ("kernels" in a.name or any(p.startswith("_") for p in a.name.split(".")))]
        elif isinstance(node, ast.Attribute) and node.attr in engine_private:
            bad.append(f".{node.attr}")
    return bad


@pytest.mark.parametrize("path", list(_python_files("nn", "optim")), ids=lambda p: str(p.relative_to(ROOT)))
def test_nn_and_optim_use_public_names_only(path):
    tree = ast.parse(path.read_text())
    assert not _private_uses(tree), f"{path.relative_to(ROOT)} reaches into the engine: {_private_uses(tree)}"
    functions = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
                 and any(getattr(b, "id", getattr(b, "attr", "")) == "Function" for b in n.bases)]
    assert not functions, f"{path.relative_to(ROOT)} defines Functions {functions}: they belong in autograd_core/ops/"


def test_the_checker_catches_a_private_import():
    assert _private_uses(ast.parse("from autograd_core.kernels import load"))
    assert _private_uses(ast.parse("from autograd_core import _threads"))
    assert _private_uses(ast.parse("x = t._ver[0]"))
    assert not _private_uses(ast.parse("from autograd_core import from_numpy, increment_version"))


def test_every_function_lives_under_ops():
    """Function subclasses defined by the package: all in autograd_core/ops (the engine's own helpers aside)."""
    import autograd_core.function as fn_mod

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(ag.Function):
        mod = cls.__module__
        if mod.startswith(("autograd_core", "nn", "optim")) and not mod.startswith("autograd_core.ops"):
            assert mod in ("autograd_core.autograd",), f"{cls.__name__} is defined in {mod}"
    assert inspect.getmodule(fn_mod.Function).__name__ == "autograd_core.function"
