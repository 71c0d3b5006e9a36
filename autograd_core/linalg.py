"""``autograd_core.linalg``: PyTorch's ``torch.linalg`` names for the norms (and two aliases).

A plain module that re-exports ops declared in ``autograd_core/ops/distance.py``
(norms) and ``autograd_core/ops/linalg.py`` (products). It is a different module
from ``autograd_core.ops.linalg`` (the package's matrix-product ops), which is
never exported under this name: ``autograd_core.linalg`` is always this one.

>>> import autograd_core as ag
>>> ag.linalg.vector_norm(ag.tensor([3.0, 4.0])).item()
5.0
"""

from .ops import PUBLIC as _PUBLIC
from .ops._inputs import checked as _checked
from .ops import distance as _distance
from .ops.shape import diagonal as _diagonal

# with the package's argument checks (a list is a TypeError naming the argument), as every public op
norm, matrix_norm, svdvals, vector_norm = (_checked(f) for f in (
    _distance.linalg_norm, _distance.matrix_norm, _distance.svdvals, _distance.vector_norm))
matmul = _PUBLIC["matmul"]

__all__ = ["norm", "vector_norm", "matrix_norm", "svdvals", "matmul", "diagonal"]


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """``torch.linalg.diagonal``: the diagonal of the last two dimensions by default (a view)."""
    return _diagonal(A, offset, dim1, dim2)
