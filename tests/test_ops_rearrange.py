"""Splitting, moving, repeating, triangles and diagonals (ops/shape.py), Tensor.new_* and memory formats
(ops/factory.py): values against numpy, gradients by gradcheck/gradgradcheck in float64."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autograd_core as ag
from autograd_core.testing import op_test, shapes

nonempty = shapes(min_dims=1, max_dims=3).map(lambda s: (s,))
matrices = shapes(min_dims=2, max_dims=3).map(lambda s: (s,))


def one_dim(shps):
    nd = len(shps[0])
    return st.integers(-nd, nd - 1)


def np_split_sizes(n, size):
    return [size] * (n // size) + ([n % size] if n % size else [])


def _split_kwargs(shps):
    return one_dim(shps).flatmap(lambda d: st.fixed_dictionaries(
        {"dim": st.just(d), "size": st.integers(1, shps[0][d] + 1)}))


test_split = op_test(lambda a, dim, size: ag.split(a, size, dim),
                     lambda a, dim, size: tuple(np.split(a, np.cumsum(np_split_sizes(a.shape[dim], size))[:-1], dim)),
                     shapes=nonempty, kwargs=_split_kwargs)


def _sections(shps):
    def sizes(d):
        n = shps[0][d]
        return st.lists(st.integers(0, n), min_size=1, max_size=3).map(
            lambda cuts: {"dim": d, "sections": np.diff([0] + sorted(cuts) + [n]).tolist()})
    return one_dim(shps).flatmap(sizes)


test_split_sections = op_test(lambda a, dim, sections: a.split(sections, dim),
                              lambda a, dim, sections: tuple(np.split(a, np.cumsum(sections)[:-1], dim)),
                              shapes=nonempty, kwargs=_sections)


def _chunk_kwargs(shps):
    return one_dim(shps).flatmap(lambda d: st.fixed_dictionaries({"dim": st.just(d), "chunks": st.integers(1, 5)}))


def np_chunk(a, chunks, dim):
    size = -(-a.shape[dim] // chunks)
    return tuple(np.split(a, np.cumsum(np_split_sizes(a.shape[dim], size))[:-1], dim))


test_chunk = op_test(lambda a, dim, chunks: ag.chunk(a, chunks, dim), lambda a, dim, chunks: np_chunk(a, chunks, dim),
                     shapes=nonempty, kwargs=_chunk_kwargs)
test_unbind = op_test(lambda a, dim: ag.unbind(a, dim),
                      lambda a, dim: tuple(np.moveaxis(a, dim, 0)), shapes=nonempty,
                      kwargs=lambda s: one_dim(s).map(lambda d: {"dim": d}))


def _narrow_kwargs(shps):
    def for_dim(d):
        n = shps[0][d]
        return st.integers(0, n).flatmap(lambda start: st.fixed_dictionaries(
            {"dim": st.just(d), "start": st.just(start), "length": st.integers(0, n - start)}))
    return one_dim(shps).flatmap(for_dim)


test_narrow = op_test(lambda a, dim, start, length: a.narrow(dim, start, length),
                      lambda a, dim, start, length: np.take(a, np.arange(start, start + length), axis=dim),
                      shapes=nonempty, kwargs=_narrow_kwargs)


def _movedim_kwargs(shps):
    nd = len(shps[0])
    return st.permutations(range(nd)).flatmap(lambda src: st.permutations(range(nd)).flatmap(
        lambda dst: st.integers(1, nd).map(lambda k: {"source": tuple(src[:k]), "destination": tuple(dst[:k])})))


test_movedim = op_test(lambda a, source, destination: ag.movedim(a, source, destination),
                       lambda a, source, destination: np.moveaxis(a, source, destination),
                       shapes=nonempty, kwargs=_movedim_kwargs)


def _dims_kwargs(shps):
    nd = len(shps[0])
    return st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(
        lambda ds: {"dims": [d - nd if i % 2 else d for i, d in enumerate(ds)]})


test_flip = op_test(lambda a, dims: ag.flip(a, dims), lambda a, dims: np.flip(a, tuple(dims)),
                    shapes=nonempty, kwargs=_dims_kwargs)
test_fliplr = op_test(ag.fliplr, np.fliplr, shapes=matrices)
test_flipud = op_test(lambda a: a.flipud(), np.flipud, shapes=nonempty)


def _roll_kwargs(shps):
    nd = len(shps[0])
    return st.one_of(
        st.integers(-5, 5).map(lambda s: {"shifts": s, "dims": None}),
        st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).flatmap(
            lambda ds: st.lists(st.integers(-5, 5), min_size=len(ds), max_size=len(ds)).map(
                lambda sh: {"shifts": tuple(sh), "dims": tuple(ds)})))


test_roll = op_test(lambda a, shifts, dims: ag.roll(a, shifts, dims),
                    lambda a, shifts, dims: np.roll(a, shifts, axis=dims), shapes=nonempty, kwargs=_roll_kwargs)


def _rot_kwargs(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"k": st.integers(-5, 5),
                                  "dims": st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2).filter(
                                      lambda d: d[0] % nd != d[1] % nd)})


test_rot90 = op_test(lambda a, k, dims: ag.rot90(a, k, dims), lambda a, k, dims: np.rot90(a, k, axes=dims),
                     shapes=matrices, kwargs=_rot_kwargs)


def _reps(shps):
    nd = len(shps[0])
    return st.integers(nd, nd + 2).flatmap(
        lambda n: st.lists(st.integers(0, 3), min_size=n, max_size=n).map(lambda r: {"reps": tuple(r)}))


test_repeat = op_test(lambda a, reps: a.repeat(*reps), lambda a, reps: np.tile(a, reps), kwargs=_reps)
test_tile = op_test(lambda a, reps: ag.tile(a, reps[1:]), lambda a, reps: np.tile(a, reps[1:]), kwargs=_reps)


def _interleave_kwargs(shps):
    nd = len(shps[0])
    return st.one_of(
        st.integers(0, 3).map(lambda r: {"repeats": r, "dim": None}),
        st.integers(-nd, nd - 1).flatmap(lambda d: st.lists(
            st.integers(0, 3), min_size=shps[0][d], max_size=shps[0][d]).map(
                lambda r: {"repeats": np.array(r, dtype=np.int64), "dim": d})))


test_repeat_interleave = op_test(lambda a, repeats, dim: ag.repeat_interleave(a, ag.tensor(repeats), dim),
                                 lambda a, repeats, dim: np.repeat(a, repeats, axis=dim),
                                 shapes=nonempty, kwargs=_interleave_kwargs)


def _diag_kwargs(shps):
    return st.fixed_dictionaries({"k": st.integers(-3, 3)})


test_tril = op_test(lambda a, k: ag.tril(a, k), lambda a, k: np.tril(a, k), shapes=matrices, kwargs=_diag_kwargs)
test_triu = op_test(lambda a, k: a.triu(k), lambda a, k: np.triu(a, k), shapes=matrices, kwargs=_diag_kwargs)
test_diag_of_vector = op_test(lambda a, k: ag.diag(a, k), lambda a, k: np.diag(a, k),
                              shapes=shapes(min_dims=1, max_dims=1).map(lambda s: (s,)), kwargs=_diag_kwargs)
test_diag_of_matrix = op_test(lambda a, k: a.diag(k), lambda a, k: np.diag(a, k),
                              shapes=shapes(min_dims=2, max_dims=2).map(lambda s: (s,)), kwargs=_diag_kwargs)


def _diagonal_kwargs(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"offset": st.integers(-3, 3), "dims": st.lists(
        st.integers(-nd, nd - 1), min_size=2, max_size=2).filter(lambda d: d[0] % nd != d[1] % nd)})


test_diagonal = op_test(lambda a, offset, dims: ag.diagonal(a, offset, *dims),
                        lambda a, offset, dims: np.diagonal(a, offset, *dims), shapes=matrices, kwargs=_diagonal_kwargs)


def np_diag_embed(v, offset, d1, d2):
    m = v.shape[-1] + abs(offset)
    out = np.zeros(v.shape[:-1] + (m, m))
    for idx in np.ndindex(v.shape):
        i = idx[-1] + max(-offset, 0)
        out[idx[:-1] + (i, i + offset)] = v[idx]
    nd = out.ndim
    d1, d2 = d1 % nd, d2 % nd
    if d1 > d2:  # the diagonal's rows go to d1: a transposed embedding
        out = np.swapaxes(out, -1, -2)
        d1, d2 = d2, d1
    return np.moveaxis(out, (-2, -1), (d1, d2))


def _embed_kwargs(shps):
    nd = len(shps[0]) + 1
    return st.fixed_dictionaries({"offset": st.integers(-2, 2), "dims": st.lists(
        st.integers(-nd, nd - 1), min_size=2, max_size=2).filter(lambda d: d[0] % nd != d[1] % nd)})


test_diag_embed = op_test(lambda a, offset, dims: ag.diag_embed(a, offset, *dims),
                          lambda a, offset, dims: np_diag_embed(a, offset, *dims), shapes=nonempty,
                          kwargs=_embed_kwargs)


# ------------------------------------------------------------------ PyTorch's edge cases and views

def test_split_and_chunk_follow_pytorch():
    x = ag.arange(10.0)
    assert [c.shape for c in ag.chunk(x, 4)] == [(3,), (3,), (3,), (1,)]
    assert [c.shape for c in x.chunk(6)] == [(2,)] * 5  # fewer pieces than asked
    assert [c.shape for c in ag.chunk(ag.zeros(0), 3)] == [(0,)] * 3
    assert [c.shape for c in ag.split(ag.zeros(0), 3)] == [(0,)]
    assert [c.shape for c in ag.split(x, 20)] == [(10,)]
    with pytest.raises(ValueError, match="add up to 10"):
        ag.split(x, [2, 7])
    with pytest.raises(ValueError, match="split_size"):
        ag.split(x, 0)
    with pytest.raises(ValueError, match="positive"):
        ag.chunk(x, 0)
    with pytest.raises(ag.ShapeError, match="0-d"):
        ag.chunk(ag.tensor(1.0), 1)
    with pytest.raises(IndexError, match="0-d"):
        ag.unbind(ag.tensor(1.0))
    assert ag.narrow(ag.arange(10), 0, -3, 2).tolist() == [7, 8]
    assert ag.narrow(ag.arange(10), 0, ag.tensor(2), 2).tolist() == [2, 3]
    with pytest.raises(IndexError, match="exceeds"):
        ag.narrow(ag.arange(10), 0, 8, 3)


def test_pieces_are_views_sharing_the_version_counter():
    x = ag.arange(6.0).reshape(2, 3)
    a, b = ag.split(x, [1, 2], 1)
    c = x.narrow(1, 1, 1)
    d = x.diagonal()
    with ag.no_grad():
        b.mul_(10.0)
        d.add_(100.0)
    assert x.tolist() == [[100.0, 10.0, 20.0], [3.0, 140.0, 50.0]]
    assert a._version == x._version == c._version == 2
    r0, r1 = ag.unbind(x)
    assert r1._version == x._version


def test_split_gradient_fills_unused_pieces_with_zeros():
    x = ag.arange(5.0, requires_grad=True)
    a, b, c = ag.split(x, 2)
    (b * 3).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 3.0, 0.0]


def test_moving_ops_follow_pytorch():
    with pytest.raises(ValueError, match="repeat"):
        ag.flip(ag.arange(3), [0, 0])
    assert ag.flip(ag.tensor(1.0), [0]).item() == 1.0
    f = ag.flip(ag.arange(3), 0)
    f[0] = 7  # flip copies: the input is untouched
    assert f.tolist() == [7, 1, 0]
    with pytest.raises(ValueError, match="same length"):
        ag.roll(ag.arange(6).reshape(2, 3), (1, -1), 0)
    assert ag.roll(ag.tensor(1.0), 1).item() == 1.0 and ag.roll(ag.zeros(0), 1).shape == (0,)
    with pytest.raises(ValueError, match="different"):
        ag.rot90(ag.ones(2, 2), 1, [0, 0])
    with pytest.raises(ag.ShapeError, match="2 dimensions"):
        ag.rot90(ag.arange(4))
    with pytest.raises(ValueError, match="repeat"):
        ag.movedim(ag.ones(2, 3, 4), (0, 0), (2, 1))
    assert ag.moveaxis(ag.ones(2, 3, 4), 0, -1).shape == (3, 4, 2)


def test_repeat_tile_and_interleave_follow_pytorch():
    with pytest.raises(ag.ShapeError, match="at least one per dimension"):
        ag.ones(2, 3).repeat(2)
    assert ag.tensor(1.0).repeat(3).shape == (3,)
    assert ag.ones(2).repeat((2, 2)).shape == (2, 4)
    assert not hasattr(ag, "repeat")  # a Tensor method only, as in PyTorch
    assert ag.tile(ag.ones(2, 3), (2,)).shape == (2, 6)
    assert ag.repeat_interleave(ag.tensor([[1, 2], [3, 4]]), 2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert ag.repeat_interleave(ag.tensor([1, 2, 0, 3])).tolist() == [0, 1, 1, 3, 3, 3]
    assert ag.tensor([1, 2]).repeat_interleave(ag.tensor(2)).tolist() == [1, 1, 2, 2]
    assert ag.repeat_interleave(ag.tensor([1, 2]), ag.tensor([2])).tolist() == [1, 1, 2, 2]
    with pytest.raises(ValueError, match="non-negative"):
        ag.repeat_interleave(ag.tensor([1, 2]), ag.tensor([1, -1]))
    with pytest.raises(ValueError, match="output_size"):
        ag.repeat_interleave(ag.tensor([1, 2]), 2, output_size=3)


def test_triangles_and_diagonals_follow_pytorch():
    with pytest.raises(ag.ShapeError, match="2 dimensions"):
        ag.tril(ag.ones(3))
    assert ag.diag(ag.arange(6).reshape(2, 3), 5).shape == (0,)
    with pytest.raises(ag.ShapeError, match="1-D or 2-D"):
        ag.diag(ag.ones(2, 2, 2))
    assert ag.diagonal(ag.arange(24).reshape(2, 3, 4), 1, 0, 2).tolist() == [[1, 14], [5, 18], [9, 22]]
    assert ag.diag_embed(ag.tensor([[1, 2], [3, 4]]), 0, 0, 2).tolist() == [[[1, 0], [3, 0]], [[0, 2], [0, 4]]]
    x = ag.ones(3, 3)
    d = ag.diag(x)
    d[0] = 5.0  # diag copies (diagonal is the view)
    assert x[0, 0].item() == 1.0
    t = ag.arange(9.0).reshape(3, 3)
    assert t.tril_() is t and t.tolist() == [[0, 0, 0], [3, 4, 0], [6, 7, 8]]
    t.triu_(1)
    assert t.sum().item() == 0.0


def test_new_factories_follow_pytorch():
    a = ag.ones(3)
    assert a.new_zeros(2, 3).dtype == np.float32 and a.new_zeros((2,)).shape == (2,)
    assert a.new_ones(2, dtype=np.int64).dtype == np.int64
    assert a.new_full((2,), 3).dtype == np.float32 and a.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert ag.ones(2, dtype=np.int64).new_full((2,), 2.5).tolist() == [2, 2]
    assert a.new_empty(0).shape == (0,)
    t = a.new_tensor([1, 2])
    assert t.dtype == np.float32 and not t.requires_grad
    assert a.double().new_tensor([1, 2], requires_grad=True).requires_grad
    src = ag.tensor([1.0, 2.0])
    copy = a.new_tensor(src)
    copy[0] = 9.0
    assert src[0].item() == 1.0
    assert a.new_zeros(1, device="cpu").shape == (1,)
    with pytest.raises(RuntimeError, match="CPU only"):
        a.new_zeros(1, device="cuda")


def test_memory_formats():
    x = ag.randn(2, 3, 4, 5)
    y = x.contiguous(memory_format=ag.channels_last)
    assert y.shape == x.shape and ag.equal(y, x)
    assert y.is_contiguous(memory_format=ag.channels_last) and not y.is_contiguous()
    assert y.data.transpose(0, 2, 3, 1).flags.c_contiguous  # (N, H, W, C) memory
    assert y.contiguous(memory_format=ag.channels_last) is y
    assert y.clone().is_contiguous(memory_format=ag.channels_last)  # clone preserves the layout
    assert y.clone(memory_format=ag.contiguous_format).is_contiguous()
    assert y.contiguous().is_contiguous() and x.contiguous() is x
    assert not x.T.clone().is_contiguous() and x.T.clone(memory_format=ag.contiguous_format).is_contiguous()
    with pytest.raises(ValueError, match="4-D"):
        ag.ones(3).contiguous(memory_format=ag.channels_last)
    with pytest.raises(TypeError, match="memory_format"):
        x.clone(memory_format="channels_last")
    w = ag.randn(2, 3, 4, 5, requires_grad=True)
    (w.contiguous(memory_format=ag.channels_last) * 2).sum().backward()
    assert w.grad.tolist() == np.full((2, 3, 4, 5), 2.0).tolist()


@given(shapes(min_dims=2, max_dims=3, min_side=0))
def test_diagonal_of_empty_and_degenerate_shapes(shape):
    a = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    for k in (-2, 0, 2):
        np.testing.assert_array_equal(ag.diagonal(ag.tensor(a), k, -2, -1).numpy(), np.diagonal(a, k, -2, -1))
