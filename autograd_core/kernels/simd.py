"""Explicit short vectors for Numba kernels: 8 lanes of an array's float dtype.

LLVM's loop vectoriser turns an inner loop over contiguous elements into
vector code, but it will not keep a block of accumulators in registers across
an outer reduction loop (it reloads and stores them every step), and that is
what a direct convolution's inner loop needs: a tile of 16 output channels x
6 output pixels summed over (input channel, kernel tap). These intrinsics give
the kernels LLVM's vector type ``<8 x float>`` (``<8 x double>`` for float64)
as an ordinary Numba value, so a tile of accumulators is a handful of local
variables that LLVM keeps in registers.

Eight float32 lanes are one AVX register (two SSE registers or half an
AVX-512 one: LLVM splits or pads as the target needs, so the code runs on any
x86-64; only the speed differs). Eight float64 lanes are two AVX registers:
float64 kernels are correct but spill registers (float64 is for checking, not
for speed, in this package).

All functions take a 1-D C-contiguous array for the dtype (and the memory):

``vload(a, i)``       a[i:i+8] as a vector (unaligned)
``vstore(a, i, v)``   a[i:i+8] = v
``vsplat(a, x)``      x (cast to a.dtype) in all lanes
``vbcast(a, i)``      a[i] in all lanes
``vzero(a)``          zeros
``vfma(x, y, z)``     x*y + z, fused (one rounding)
``vadd(x, y)``, ``vsub(x, y)``, ``vmul(x, y)``
``vsum(v)``           the sum of the lanes (a scalar), added pairwise

No bounds are checked: the kernels compute their indices so that every access
is inside the array.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

LANES = 8


class Vec(types.Type):
    """LLVM ``<8 x dtype>``: a value type (registers), never a Python object."""

    def __init__(self, dtype):
        self.dtype = dtype
        super().__init__(name=f"vec{LANES}({dtype})")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        elem = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(elem, LANES))


def _float_array(a):
    return isinstance(a, types.Array) and a.ndim == 1 and isinstance(a.dtype, types.Float)


def _vptr(context, builder, aryty, ary, idx, idxty):
    arr = context.make_array(aryty)(context, builder, ary)
    i = context.cast(builder, idx, idxty, types.intp)
    ptr = builder.gep(arr.data, [i], inbounds=True)
    vty = ir.VectorType(context.get_value_type(aryty.dtype), LANES)
    return builder.bitcast(ptr, vty.as_pointer())


@intrinsic
def vload(typingctx, a, i):
    if not (_float_array(a) and isinstance(i, types.Integer)):
        return None
    sig = Vec(a.dtype)(a, i)

    def codegen(context, builder, sig, args):
        p = _vptr(context, builder, sig.args[0], args[0], args[1], sig.args[1])
        return builder.load(p, align=sig.args[0].dtype.bitwidth // 8)
    return sig, codegen


@intrinsic
def vstore(typingctx, a, i, v):
    if not (_float_array(a) and isinstance(i, types.Integer) and isinstance(v, Vec) and v.dtype == a.dtype):
        return None
    sig = types.void(a, i, v)

    def codegen(context, builder, sig, args):
        p = _vptr(context, builder, sig.args[0], args[0], args[1], sig.args[1])
        builder.store(args[2], p, align=sig.args[0].dtype.bitwidth // 8)
        return context.get_dummy_value()
    return sig, codegen


def _splat(context, builder, dtype, x):
    vty = ir.VectorType(context.get_value_type(dtype), LANES)
    undef = ir.Constant(vty, ir.Undefined)
    v = builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, undef, ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))


@intrinsic
def vsplat(typingctx, a, x):
    if not (_float_array(a) and isinstance(x, (types.Float, types.Integer))):
        return None
    sig = Vec(a.dtype)(a, x)

    def codegen(context, builder, sig, args):
        dtype = sig.args[0].dtype
        return _splat(context, builder, dtype, context.cast(builder, args[1], sig.args[1], dtype))
    return sig, codegen


@intrinsic
def vbcast(typingctx, a, i):
    if not (_float_array(a) and isinstance(i, types.Integer)):
        return None
    sig = Vec(a.dtype)(a, i)

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        arr = context.make_array(aryty)(context, builder, args[0])
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        x = builder.load(builder.gep(arr.data, [idx], inbounds=True))
        return _splat(context, builder, aryty.dtype, x)
    return sig, codegen


@intrinsic
def vzero(typingctx, a):
    if not _float_array(a):
        return None
    sig = Vec(a.dtype)(a)

    def codegen(context, builder, sig, args):
        elem = context.get_value_type(sig.args[0].dtype)
        return ir.Constant(ir.VectorType(elem, LANES), [ir.Constant(elem, 0.0)] * LANES)
    return sig, codegen


def _same_vecs(*vs):
    return all(isinstance(v, Vec) for v in vs) and len({v.dtype for v in vs}) == 1


@intrinsic
def vfma(typingctx, x, y, z):
    if not _same_vecs(x, y, z):
        return None
    sig = x(x, y, z)

    def codegen(context, builder, sig, args):
        vty = args[0].type
        suffix = f"v{LANES}f32" if isinstance(vty.element, ir.FloatType) else f"v{LANES}f64"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), f"llvm.fma.{suffix}")
        return builder.call(fn, args)
    return sig, codegen


@intrinsic
def vadd(typingctx, x, y):
    if not _same_vecs(x, y):
        return None
    sig = x(x, y)

    def codegen(context, builder, sig, args):
        return builder.fadd(*args)
    return sig, codegen


@intrinsic
def vsub(typingctx, x, y):
    if not _same_vecs(x, y):
        return None
    sig = x(x, y)

    def codegen(context, builder, sig, args):
        return builder.fsub(*args)
    return sig, codegen


@intrinsic
def vmul(typingctx, x, y):
    if not _same_vecs(x, y):
        return None
    sig = x(x, y)

    def codegen(context, builder, sig, args):
        return builder.fmul(*args)
    return sig, codegen


@intrinsic
def vsum(typingctx, v):
    if not isinstance(v, Vec):
        return None
    sig = v.dtype(v)

    def codegen(context, builder, sig, args):
        parts = [builder.extract_element(args[0], ir.Constant(ir.IntType(32), k)) for k in range(LANES)]
        while len(parts) > 1:
            parts = [builder.fadd(parts[k], parts[k + 1]) for k in range(0, len(parts), 2)]
        return parts[0]
    return sig, codegen


__all__ = ["LANES", "Vec", "vload", "vstore", "vsplat", "vbcast", "vzero", "vfma", "vadd", "vmul", "vsum"]
