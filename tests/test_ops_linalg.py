"""Matrix products and einsum (ops/linalg.py): values against numpy, gradients by gradcheck/gradgradcheck."""

import numpy as np
import pytest
from hypothesis import strategies as st

import autograd_core as ag
from autograd_core.testing import op_test

sides = st.integers(1, 4)


def letter_shapes(*terms, max_side=3):
    """Shapes for einsum-like subscripts: one size per letter, shared between terms (sides 1..3 keep
    gradgradcheck quick: it differentiates numerically through every element)."""
    letters = sorted(set("".join(terms)))
    size = st.integers(1, max_side)
    return st.lists(size, min_size=len(letters), max_size=len(letters)).map(
        lambda ns: tuple(tuple(dict(zip(letters, ns))[c] for c in t) for t in terms))


test_mm = op_test(ag.mm, np.matmul, 2, shapes=letter_shapes("ij", "jk"))
test_bmm = op_test(ag.bmm, np.matmul, 2, shapes=letter_shapes("bij", "bjk"))
test_mv = op_test(lambda a, v: a.mv(v), np.matmul, 2, shapes=letter_shapes("ij", "j"))
test_dot = op_test(ag.dot, np.dot, 2, shapes=letter_shapes("i", "i"))
test_outer = op_test(ag.outer, np.outer, 2, shapes=letter_shapes("i", "j"))
test_inner = op_test(ag.inner, np.inner, 2, shapes=letter_shapes("abi", "ci"))
test_addmm = op_test(lambda c, a, b: ag.addmm(c, a, b, beta=0.5, alpha=-2), lambda c, a, b: 0.5 * c - 2 * a @ b, 3,
                     shapes=letter_shapes("k", "ij", "jk"))
test_addmv = op_test(lambda c, a, v: c.addmv(a, v, alpha=3), lambda c, a, v: c + 3 * a @ v, 3,
                     shapes=letter_shapes("i", "ij", "j"))
test_addr = op_test(lambda c, a, b: ag.addr(c, a, b, beta=2), lambda c, a, b: 2 * c + np.outer(a, b), 3,
                    shapes=letter_shapes("ij", "i", "j"))
test_baddbmm = op_test(lambda c, a, b: ag.baddbmm(c, a, b, beta=-1, alpha=0.5), lambda c, a, b: -c + 0.5 * a @ b, 3,
                       shapes=letter_shapes("bik", "bij", "bjk"))
test_kron = op_test(ag.kron, np.kron, 2, shapes=st.tuples(st.lists(sides, min_size=1, max_size=3).map(tuple),
                                                          st.lists(sides, min_size=0, max_size=3).map(tuple)))
test_tensordot_int = op_test(lambda a, b: ag.tensordot(a, b, 2), lambda a, b: np.tensordot(a, b, 2), 2,
                             shapes=letter_shapes("ijk", "jkl"))
test_tensordot_lists = op_test(lambda a, b: ag.tensordot(a, b, ([1, 0], [0, 2])),
                               lambda a, b: np.tensordot(a, b, ([1, 0], [0, 2])), 2,
                               shapes=letter_shapes("ijk", "jli"))

EQUATIONS = [
    ("bij,bjk->bik", ("bij", "bjk")),
    ("ij,ij->", ("ij", "ij")),
    ("i,j->ij", ("i", "j")),
    ("ij->ji", ("ij",)),
    ("ii->i", ("ii",)),
    ("ii", ("ii",)),
    ("iij->ji", ("iij",)),
    ("ij,jk,kl->il", ("ij", "jk", "kl")),
    ("ijk,ik->j", ("ijk", "ik")),
    ("ij->", ("ij",)),
    ("bhqd,bhkd->bhqk", ("bhqd", "bhkd")),
    ("ji,kj", ("ji", "kj")),
    ("i,i,i->i", ("i", "i", "i")),
    ("ij,kj->k", ("ij", "kj")),  # i is summed within the first operand alone: its gradient broadcasts along i
]

for _eq, _terms in EQUATIONS:
    globals()[f"test_einsum_{_eq.replace(',', '_').replace('->', '_to_') or 'empty'}"] = op_test(
        lambda *xs, eq=_eq: ag.einsum(eq, *xs), lambda *xs, eq=_eq: np.einsum(eq, *xs), len(_terms),
        shapes=letter_shapes(*_terms))
test_einsum_ellipsis = op_test(lambda a, b: ag.einsum("...ij,...jk->...ik", a, b), np.matmul, 2,
                               shapes=st.tuples(st.lists(sides, min_size=0, max_size=2).map(tuple), sides, sides, sides)
                               .map(lambda t: (t[0] + (t[1], t[2]), t[0][1:] + (t[2], t[3]))))
test_einsum_broadcast_size_one = op_test(
    lambda a, b: ag.einsum("ij,ij->ij", a, b), lambda a, b: a * b, 2,
    shapes=st.tuples(sides, sides).map(lambda t: ((1, t[1]), (t[0], t[1]))))


def test_einsum_forms_and_errors_follow_pytorch():
    a, b = ag.ones(2, 3), ag.ones(3, 4)
    assert ag.einsum("ij,jk", [a, b]).shape == (2, 4)
    assert ag.einsum("i j , j k -> i k", a, b).shape == (2, 4)
    assert ag.einsum("iJ,Jk->ik", a, b).shape == (2, 4)
    assert ag.einsum(a, [0, 1], b, [1, 2], [0, 2]).shape == (2, 4)
    assert ag.einsum(a, [Ellipsis, 1], b, [1, 2]).shape == (2, 4)
    assert ag.einsum("...ij", ag.ones(5, 2, 3)).shape == (5, 2, 3)
    assert ag.einsum("...ij,...jk->...ik", ag.ones(5, 1, 2, 3), ag.ones(4, 3, 2)).shape == (5, 4, 2, 2)
    assert ag.einsum("ii", ag.arange(9.0).reshape(3, 3)).item() == 12.0
    with pytest.raises(ValueError, match="more than once"):
        ag.einsum("i->ii", ag.ones(2))
    with pytest.raises(ag.ShapeError, match="does not broadcast"):
        ag.einsum("i,i->i", ag.ones(2), ag.ones(3))
    with pytest.raises(ValueError, match="2 operand"):
        ag.einsum("ij,jk->ik", a)
    with pytest.raises(ag.ShapeError, match="name 1 dimension"):
        ag.einsum("i", a)
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    ag.einsum("ii->i", x).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_strict_products_follow_pytorch():
    with pytest.raises(ag.ShapeError, match="input must have 2"):
        ag.mm(ag.ones(3), ag.ones(3, 2))
    with pytest.raises(ag.ShapeError, match="batch sizes differ"):
        ag.bmm(ag.ones(1, 2, 3), ag.ones(4, 3, 2))
    with pytest.raises(ag.ShapeError, match="vec must have 1"):
        ag.mv(ag.ones(2, 3), ag.ones(3, 1))
    with pytest.raises(ag.ShapeError, match="input must have 1"):
        ag.outer(ag.tensor(1.0), ag.ones(3))
    assert ag.dot(ag.tensor([1, 2]), ag.tensor([3, 4])).item() == 11
    a, b = ag.randn(2, 3), ag.randn(3, 4)
    assert ag.equal(a.mm(b), a @ b) and ag.equal(ag.ger(a[0], b[0]), ag.outer(a[0], b[0]))
    assert ag.mm(ag.ones(2, 3, dtype=np.int64), ag.ones(3, 2, dtype=np.int64)).tolist() == [[3, 3], [3, 3]]
    nan_in = ag.full((1, 2, 2), float("nan"))
    assert ag.baddbmm(nan_in, ag.ones(1, 2, 3), ag.ones(1, 3, 2), beta=0).tolist() == [[[3.0, 3.0], [3.0, 3.0]]]
    assert ag.addmm(ag.full((2,), float("nan")), ag.ones(2, 3), ag.ones(3, 2), beta=0).tolist() == [[3, 3], [3, 3]]
    assert ag.kron(ag.tensor([[1, 2], [3, 4]]), ag.tensor([[0, 1], [1, 0]])).tolist() == \
        [[0, 1, 0, 2], [1, 0, 2, 0], [0, 3, 0, 4], [3, 0, 4, 0]]
    assert ag.kron(ag.tensor(2.0), ag.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert ag.tensordot(ag.ones(2, 3), ag.ones(4), 0).shape == (2, 3, 4)
    assert ag.tensordot(ag.ones(2, 3), ag.ones(3, 4), dims=ag.tensor(1)).shape == (2, 4)
    assert ag.inner(ag.tensor(2.0), ag.ones(4, 3)).shape == (4, 3)
