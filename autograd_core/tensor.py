"""``Tensor``: an ndarray with a gradient and a place in the graph.

Every operation on Tensors is a ``Function`` (see ``function.py``); the methods
here are thin wrappers so that ``x.exp()`` and ``autograd_core.exp(x)`` are the
same call. A Tensor's ``.data`` is its ndarray (not a Tensor, unlike PyTorch).
"""

from __future__ import annotations

import numpy as np

from .function import _state, ShapeError
from . import _settings, devices as _devices

_new = object.__new__
_ndarray = np.ndarray


def _default_dtype_array(data, dtype=None):
    """Convert ``data`` with autograd_core's dtype rules.

    Python floats become the default dtype (float32 unless ``set_default_dtype``
    says otherwise, as in PyTorch), Python ints int64, bools bool; numpy arrays
    keep their dtype; ``dtype`` overrides.
    """
    if isinstance(data, Tensor):
        arr = data.data
    elif isinstance(data, _ndarray):
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        arr = np.asarray(data)
        if dtype is None and arr.dtype == np.float64 and _settings.dtype != arr.dtype:
            arr = arr.astype(_settings.dtype)
    if dtype is not None:
        dtype = np.dtype(dtype)
        if arr.dtype != dtype:
            arr = arr.astype(dtype)
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(
            f"tensor(): cannot make a tensor from data of type {type(data).__name__} "
            f"(numpy gives dtype {arr.dtype}); pass numbers, nested lists of numbers or a numeric ndarray"
        )
    return arr


def _init(t, arr, requires_grad=False, grad_fn=None, output_nr=0):
    """Set every field of a new Tensor ``t``: the one place they are set (``__init__``, ``_wrap`` and
    ``Function.apply`` all come here)."""
    t.data = arr
    t.requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._ver = [0]
    t._base = None
    t.grad = None
    t._hooks = None
    return t


class Tensor:
    """A multi-dimensional array that records the operations applied to it.

    Parameters
    ----------
    data : array_like
        Numbers, nested lists, an ndarray or a Tensor.
    requires_grad : bool
        Record operations on this tensor so ``backward()`` fills ``.grad``.
    dtype : numpy dtype, optional

    Attributes
    ----------
    data : ndarray
        The values.
    grad : Tensor or None
        Accumulated gradient (leaves only, unless ``retain_grad()``).
    grad_fn : Function or None
        The node that created this tensor (None for leaves).
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_output_nr", "_ver", "_base",
                 "_hooks", "__weakref__")
    __hash__ = object.__hash__

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy ufuncs on Tensors: the autograd op where there is one (``np.exp(t)``,
        ``ndarray * t``), else the plain array result for tensors outside the graph."""
        if method == "__call__" and not kwargs:
            op = _ufunc_table().get(ufunc)
            if op is not None:
                return op(*inputs)
        if _state.enabled and any(isinstance(i, Tensor) and i.requires_grad for i in inputs):
            raise TypeError(
                f"numpy.{ufunc.__name__} has no differentiable autograd_core equivalent; call it on "
                "t.detach() to compute without gradient, or write it as a Function")
        arrays = [i.data if isinstance(i, Tensor) else i for i in inputs]
        if any(isinstance(o, Tensor) for o in kwargs.get("out", ())):
            raise TypeError("numpy ufuncs cannot write into a Tensor with out=; use t.data")
        return getattr(ufunc, method)(*arrays, **kwargs)

    def __init__(self, data, requires_grad=False, dtype=None):
        arr = _default_dtype_array(data, dtype)
        if isinstance(data, Tensor) and arr is data.data:
            arr = arr.copy()
        _init(self, arr)
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr, requires_grad=False):
        """Wrap an ndarray without copying or checks (internal fast path; public: ``from_numpy``)."""
        return _init(_new(Tensor), arr if type(arr) is _ndarray else np.asarray(arr), requires_grad)

    # ------------------------------------------------------------------ properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def device(self):
        """Where the values live: always the CPU in this build (``device(type='cpu')``)."""
        return _devices.CPU

    is_cuda = False
    is_cpu = True

    def get_device(self):
        return -1  # PyTorch's answer for a CPU tensor

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        return self._ver[0]

    @property
    def T(self):
        return _S.permute(self, tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self):
        return _S.transpose(self, -2, -1)

    def size(self, dim=None):
        if dim is None:
            return self.data.shape
        return self.data.shape[_S._norm_dim(dim, self.data.ndim, "size")]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.data.shape[0]):
            yield self[i]

    # ------------------------------------------------------------------ conversion
    def numpy(self):
        """The values as an ndarray (shared memory, like PyTorch)."""
        if self.requires_grad and _state.enabled:
            raise RuntimeError(
                "numpy(): this tensor requires grad; call tensor.detach().numpy() to get its values "
                "(the array would not be tracked by autograd)"
            )
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None:
            return self.data.astype(dtype, copy=bool(copy))
        return self.data.copy() if copy else self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a tensor with one element can be converted to a Python number; "
                f"this one has shape {tuple(self.data.shape)} ({self.data.size} elements)"
            )
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu":
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements (shape "
                f"{tuple(self.data.shape)}) is ambiguous; use .any() or .all()"
            )
        return bool(self.data.reshape(()).item())

    def detach(self):
        """A new leaf sharing data (and version counter) with this tensor, outside the graph."""
        t = Tensor._wrap(self.data)
        t._ver = self._ver
        return t

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad_(): only floating-point tensors can require gradients; this one has "
                f"dtype {self.data.dtype}. Convert it first, e.g. x.float()."
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor: use .detach() to get a tensor outside the graph"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("retain_grad() on a tensor that does not require grad")
            return
        import weakref

        ref = weakref.ref(self)

        def _retain(g):
            t = ref()
            if t is not None:
                if t.grad is None:
                    t.grad = g if g.requires_grad else Tensor._wrap(g.data.copy())
                else:
                    t.grad = t.grad + g
            return None

        _retain._is_retain = True
        hooks = self.grad_fn._out_hooks
        if hooks is None:
            hooks = self.grad_fn._out_hooks = {}
        lst = hooks.setdefault(self._output_nr, [])
        if not any(getattr(h, "_is_retain", False) and h.__closure__[0].cell_contents() is self for h in lst):
            lst.append(_retain)

    @property
    def retains_grad(self):
        if self.grad_fn is None or self.grad_fn._out_hooks is None:
            return False
        return any(getattr(h, "_is_retain", False) for h in self.grad_fn._out_hooks.get(self._output_nr, []))

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed.

        The hook may return a new gradient to use instead. Returns a handle
        whose ``remove()`` unregisters it.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook(): cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            lst = self._hooks
        else:
            hooks = self.grad_fn._out_hooks
            if hooks is None:
                hooks = self.grad_fn._out_hooks = {}
            lst = hooks.setdefault(self._output_nr, [])
        lst.append(hook)
        return _RemovableHandle(lst, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves (accumulated in ``.grad``).

        Parameters
        ----------
        gradient : Tensor or array, optional
            d(something)/d(self); required unless this tensor is a scalar.
        retain_graph : bool, optional
            Keep the saved tensors so backward can run again (default: ``create_graph``).
        create_graph : bool
            Record the backward pass, so the gradients can be differentiated again.
        inputs : sequence of Tensors, optional
            Accumulate only into these tensors' ``.grad``.
        """
        _AG.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # ------------------------------------------------------------------ dtype
    def float(self):
        return _E.cast(self, np.float32)

    def double(self):
        return _E.cast(self, np.float64)

    def half(self):
        return _E.cast(self, np.float16)

    def long(self):
        return _E.cast(self, np.int64)

    def int(self):
        return _E.cast(self, np.int32)

    def bool(self):
        return _E.cast(self, np.bool_)

    def to(self, *args, **kwargs):
        """This tensor with another dtype: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``.

        Keywords ``device``, ``dtype``, ``non_blocking``, ``copy`` and ``memory_format`` work as in
        PyTorch. The device must be the CPU (the only one here; any other raises). The result is
        ``self`` when nothing changes, unless ``copy=True``; a cast is differentiable.
        """
        dtype, copy = _devices.parse_to("Tensor.to", args, kwargs, Tensor)
        if dtype is not None and dtype != self.data.dtype:
            return _E.cast(self, dtype)
        return _E.clone(self) if copy else self

    def type(self, dtype=None):
        if dtype is None:
            return f"autograd_core.{self.data.dtype.name}"
        return _E.cast(self, dtype)

    def cpu(self, memory_format=None):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """Raises: this build runs on the CPU only."""
        _devices.check("cuda" if device is None else device, "Tensor.cuda")
        return self

    def __reduce_ex__(self, protocol):
        # pickling (DataLoader workers' batches) and deepcopy: the values and requires_grad, not the graph
        if self.grad_fn is not None and self.requires_grad:
            raise RuntimeError("cannot pickle or deepcopy a non-leaf tensor that requires grad (its graph cannot "
                               "be copied or cross process boundaries); use t.detach()")
        return (_rebuild_tensor, (self.data, self.requires_grad))

    # ------------------------------------------------------------------ repr
    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _E.Add.apply(self, other)

    def __radd__(self, other):
        return _E.Add.apply(other, self)

    def __sub__(self, other):
        return _E.Sub.apply(self, other)

    def __rsub__(self, other):
        return _E.Sub.apply(other, self)

    def __mul__(self, other):
        return _E.Mul.apply(self, other)

    def __rmul__(self, other):
        return _E.Mul.apply(other, self)

    def __truediv__(self, other):
        return _E.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _E.Div.apply(other, self)

    def __pow__(self, other):
        return _E.Pow.apply(self, other)

    def __rpow__(self, other):
        return _E.Pow.apply(other, self)

    def __matmul__(self, other):
        return _L.matmul(self, other)

    def __rmatmul__(self, other):
        return _L.matmul(other, self)

    def __neg__(self):
        return _E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _E.Abs.apply(self)

    def __floordiv__(self, other):
        return _E.floor_divide(self, other)

    def __mod__(self, other):
        return _E.remainder(self, other)

    # in-place forms
    def __iadd__(self, other):
        return _E.inplace(self, "add_", _E.Add, other)

    def __isub__(self, other):
        return _E.inplace(self, "sub_", _E.Sub, other)

    def __imul__(self, other):
        return _E.inplace(self, "mul_", _E.Mul, other)

    def __itruediv__(self, other):
        return _E.inplace(self, "div_", _E.Div, other)

    def __ipow__(self, other):
        return _E.inplace(self, "pow_", _E.Pow, other)

    def add_(self, other, alpha=1):
        return _E.inplace(self, "add_", _E.Add, other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return _E.inplace(self, "sub_", _E.Sub, other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return _E.inplace(self, "mul_", _E.Mul, other)

    def div_(self, other):
        return _E.inplace(self, "div_", _E.Div, other)

    def pow_(self, other):
        return _E.inplace(self, "pow_", _E.Pow, other)

    def neg_(self):
        return _E.inplace(self, "neg_", _E.Neg)

    def exp_(self):
        return _E.inplace(self, "exp_", _E.Exp)

    def relu_(self):
        return _E.inplace(self, "relu_", _E.Relu)

    def zero_(self):
        return _E.fill_inplace(self, 0, "zero_")

    def fill_(self, value):
        return _E.fill_inplace(self, value, "fill_")

    def copy_(self, src):
        return _E.inplace(self, "copy_", _E.CopyFrom, src)

    def __setitem__(self, index, value):
        _I.setitem(self, index, value)

    # comparisons (no gradient)
    def __eq__(self, other):
        return _E.eq(self, other)

    def __ne__(self, other):
        return _E.ne(self, other)

    def __lt__(self, other):
        return _E.lt(self, other)

    def __le__(self, other):
        return _E.le(self, other)

    def __gt__(self, other):
        return _E.gt(self, other)

    def __ge__(self, other):
        return _E.ge(self, other)

    # bitwise on integers, logical on bools (as in PyTorch)
    def __invert__(self):
        return _E.bitwise_not(self)

    def __and__(self, other):
        return _E.bitwise_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        return _E.bitwise_or(self, other)

    __ror__ = __or__

    def __xor__(self, other):
        return _E.bitwise_xor(self, other)

    __rxor__ = __xor__

    def __getitem__(self, index):
        return _I.getitem(self, index)


_UFUNCS = {}


def _ufunc_table():
    if not _UFUNCS:
        from .ops import reduce as _R  # noqa: F401

        _UFUNCS.update({
            np.add: _E.add, np.subtract: _E.sub, np.multiply: _E.mul, np.true_divide: _E.div,
            np.power: _E.pow, np.negative: _E.neg, np.absolute: _E.abs, np.exp: _E.exp, np.log: _E.log,
            np.sqrt: _E.sqrt, np.sin: _E.sin, np.cos: _E.cos, np.tanh: _E.tanh, np.maximum: _E.maximum,
            np.minimum: _E.minimum, np.square: _E.square, np.matmul: _L.matmul, np.equal: _E.eq,
            np.not_equal: _E.ne, np.less: _E.lt, np.less_equal: _E.le, np.greater: _E.gt,
            np.greater_equal: _E.ge,
        })
    return _UFUNCS


def _rebuild_tensor(data, requires_grad):
    t = Tensor._wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _RemovableHandle:
    def __init__(self, lst, hook):
        self._lst = lst
        self._hook = hook

    def remove(self):
        try:
            self._lst.remove(self._hook)
        except ValueError:
            pass


def increment_version(*tensors):
    """Record that the arrays of ``tensors`` were changed in place, outside any op.

    Code that writes into ``t.data`` directly (optimizers, ``nn.init``, loading a
    state dict) calls this, so that a backward needing ``t``'s old value raises
    the "modified by an in-place operation" error instead of using the new one.
    Ops run through ``Function.apply`` and ``x.add_(...)`` keep count themselves.
    (PyTorch: ``torch.autograd.graph.increment_version``.)
    """
    for t in tensors:
        t._ver[0] += 1


from .ops import elementwise as _E, shape as _S, linalg as _L, index as _I, install_methods  # noqa: E402
from . import autograd as _AG  # noqa: E402

install_methods(Tensor)  # every op marked @method (ops/_declare.py)

__all__ = ["Tensor", "ShapeError", "increment_version"]
