"""benchmarks/heldout.py's comparison side, on hand-made records (PyTorch itself is never needed by tests)."""

import numpy as np

from benchmarks import heldout


def _record(x, out, grad, **kw):
    return dict(name="softsign", variant="", dtype="float64", input=("T", x, True), args=(), kwargs=kw,
                out=[out], grads=[grad])


def test_agreeing_and_differing_samples_are_told_apart():
    x = np.array([-2.0, 0.5, 3.0])
    out = x / (1 + np.abs(x))
    grad = 0.5 / (1 + np.abs(x)) ** 2
    stats, notes = heldout._compare([
        _record(x, out, grad),
        _record(x, out + 1e-3, grad),
        _record(x, out, grad * 2),
        dict(name="softsign", variant="", dtype="float64", input=("T", x, True), args=(), kwargs={},
             torch_error="RuntimeError: no"),
        dict(name="glu", variant="", dtype="float32", input=("T", x.astype(np.float32), False), args=(),
             kwargs={}, torch_error="RuntimeError: Halving dimension must be even"),
    ])
    assert stats["softsign"] == {"value and gradient agree": 1, "value differs": 1, "gradient differs": 1,
                                 "PyTorch raises, we do not": 1}
    assert stats["glu"] == {"both raise": 1}
    assert any("value off by 0.001" in m for m in notes["softsign"])


def test_embedding_records_pass_the_weight_first_as_pytorch_does():
    w = np.arange(6.0).reshape(3, 2)
    rec = dict(name="embedding", variant="", dtype="float64", input=("T", w, True),
               args=(("T", np.array([2, 0]), False),), kwargs={}, out=[w[[2, 0]]],
               grads=[np.array([[0.5, 0.5], [0.0, 0.0], [0.5, 0.5]])])
    stats, _ = heldout._compare([rec])
    assert stats["embedding"] == {"value and gradient agree": 1}
