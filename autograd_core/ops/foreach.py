"""Multi-tensor ("foreach") optimizer updates: every parameter of a group in one kernel call.

``optim.SGD``, ``optim.Adam`` and ``optim.AdamW`` call these (public names, as
``nn`` and ``optim`` use only public names). The kernels
(``autograd_core/kernels/optim.py``) take tables of the arrays' addresses, cut
them into chunks and update the chunks in parallel, reading and writing each
element once, with the numpy loop's arithmetic operation for operation (the
results are the same to the last bit; ``tests/test_optim_fused.py``).

``foreach_usable`` says whether a group can take them: one floating dtype
(float32 or float64) for parameters and gradients, C-contiguous writeable
parameters; and by the group's ``foreach`` option: ``None`` (default) when
Numba's kernels are already loaded or the group is above the serial rule's
size (``_threads.small``; a small model that never ran a kernel does not import
Numba for its optimizer), ``True`` whenever the dtypes allow, ``False`` never.
"""

from __future__ import annotations

import numpy as np

from .. import _threads
from .. import kernels as _kernels

__all__ = ["foreach_usable", "foreach_sgd_", "foreach_adam_"]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def foreach_usable(params, grads, foreach=None):
    """Whether ``foreach_sgd_`` / ``foreach_adam_`` can update these parameter and gradient arrays."""
    if foreach is False or not params:
        return False
    dt = params[0].dtype
    if dt not in _DTYPES:
        return False
    for x, g in zip(params, grads):
        if x.dtype != dt or g.dtype != dt or not x.flags.c_contiguous or not x.flags.writeable:
            return False
    if foreach:
        return True
    return _kernels.loaded() or not _threads.small(elements=sum(x.size for x in params))


def _addresses(arrays):
    address = _kernels.load("optim").address
    return np.array([address(a) for a in arrays], dtype=np.int64)


def _contiguous(arrays, dt=None):
    return [a if a.flags.c_contiguous and (dt is None or a.dtype == dt) else np.ascontiguousarray(a, dtype=dt)
            for a in arrays]


class _Tables:
    """Address tables of arrays that live across steps, rebuilt when any of them changes."""

    def __init__(self):
        self.arrays = None

    def get(self, arrays):
        old = self.arrays
        if old is None or len(old) != len(arrays) or any(a is not b for a, b in zip(old, arrays)):
            self.arrays = list(arrays)  # (kept alive here: the table points at them)
            self.table = _addresses(arrays)
            self.sizes = np.array([a.size for a in arrays], dtype=np.int64)
            self.chunks = _kernels.load("optim").chunk_table(self.sizes)
        return self.table


def _tables(cache, key):
    if cache is None:
        return _Tables()
    t = cache.get(key)
    if t is None:
        t = cache[key] = _Tables()
    return t


# Measured single-thread cost per element of each kernel, against the serial
# rule's generic 1.5 ns (``_threads``): SGD's loop streams three arrays at
# about 0.35 ns an element, so two threads pay off only from about 150,000.
_NS = {"sgd": 0.35, "adam": 1.5}


def _run(name, total, *args):
    K = _kernels.load("optim")
    small = _threads.small(elements=total, ns_per_element=_NS[name])
    getattr(K, name + "_serial" if small else name)(*args)


def foreach_sgd_(params, grads, buffers, fresh, lr, momentum, dampening, nesterov, cache=None):
    """SGD (PyTorch's rule) on lists of arrays, in place; see ``optim.SGD``.

    ``buffers``: the momentum buffers (ignored without momentum); ``fresh[k]``
    true where buffer k was just made from the gradient (its first step).
    ``cache``: a dict the caller keeps across steps (address tables).
    """
    dt = params[0].dtype.type
    grads = _contiguous(grads)
    tabs = _tables(cache, "p")
    P = tabs.get(params)
    B = _tables(cache, "b").get(buffers) if momentum else P
    _run("sgd", int(tabs.sizes.sum()), params[0].reshape(-1)[:1], P, _addresses(grads), B, tabs.sizes,
         tabs.chunks, np.asarray(fresh, dtype=np.bool_), dt(lr), dt(momentum),
         dt(1 - dampening if dampening else 1.0), bool(nesterov), bool(momentum))


def foreach_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, lr_t, c2_t, beta1, beta2, eps,
                  decay=1.0, amsgrad=False, cache=None):
    """Adam / AdamW (PyTorch's rule) on lists of arrays, in place; see ``optim.Adam``.

    Per parameter k at its step t: ``lr_t[k] = -lr / (1 - beta1^t)``, ``c2_t[k] =
    sqrt(1 - beta2^t)``; ``decay = 1 - lr * weight_decay`` for AdamW (1 for Adam).
    """
    dt = params[0].dtype.type
    grads = _contiguous(grads)
    tabs = _tables(cache, "p")
    P = tabs.get(params)
    M = _tables(cache, "m").get(exp_avgs)
    V = _tables(cache, "v").get(exp_avg_sqs)
    VM = _tables(cache, "vmax").get(max_exp_avg_sqs) if amsgrad else V
    _run("adam", int(tabs.sizes.sum()), params[0].reshape(-1)[:1], P, _addresses(grads), M, V, VM, tabs.sizes,
         tabs.chunks, np.array(lr_t, dt), np.array(c2_t, dt), dt(beta1), dt(beta2), dt(1 - beta1),
         dt(1 - beta2), dt(eps), dt(decay), bool(amsgrad))
