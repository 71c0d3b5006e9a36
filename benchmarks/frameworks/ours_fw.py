"""autograd_core, driven through the shared PyTorch-style builders."""

from __future__ import annotations

import importlib
import sys

import numpy as np

from . import Unavailable, common

# where a functional op may live, in order (nn.functional is the public place)
_OP_MODULES = ("nn.functional", "autograd_core", "autograd_core.ops.conv", "autograd_core.ops.pool")


class _Adapter:
    def __init__(self, ag):
        self.ag = ag
        self._nn = self._optim = None

    def T(self, arr, requires_grad=False):
        return self.ag.tensor(arr, requires_grad=requires_grad)

    @staticmethod
    def A(t):
        return t.data if hasattr(t, "data") else np.asarray(t)

    def T_like(self, arr, like):
        """A tensor of ``arr``'s values in the memory layout of tensor ``like`` (channels-last stays so)."""
        out = np.empty_like(self.A(like))
        out[...] = arr
        return self.ag.from_numpy(out)

    def grad(self, outputs, inputs, grad_outputs, retain_graph):
        return self.ag.grad(outputs, inputs, grad_outputs, retain_graph=retain_graph)

    def op(self, name):
        problems = []
        for mod in _OP_MODULES:
            try:
                m = importlib.import_module(mod)
            except ModuleNotFoundError:
                continue
            except Exception as e:  # a module being written right now may not import
                problems.append(f"importing {mod} failed: {type(e).__name__}: {e}")
                continue
            fn = getattr(m, name, None)
            if callable(fn):
                return fn
        why = "; ".join(problems) or f"looked in {', '.join(_OP_MODULES)}"
        raise Unavailable(f"autograd_core has no {name} yet ({why})")

    def _module(self, name):
        try:
            return importlib.import_module(name)
        except Exception as e:
            raise Unavailable(f"cannot import {name}: {type(e).__name__}: {e}") from None

    @property
    def nn(self):
        return self._module("nn")

    @property
    def optim(self):
        return self._module("optim")

    @staticmethod
    def load_param(param, arr):
        param.data[...] = arr

    @staticmethod
    def start_profiler():
        from autograd_core import profiler
        if profiler._active is not None:  # a later round of the case in this process: keep recording
            return profiler._active
        prof = profiler.profile()
        prof.start()
        return prof


_ad = None


def setup(threads):
    global _ad
    import autograd_core as ag

    numba_by_import = "numba" in sys.modules
    set_threads = getattr(ag, "set_num_threads", None)
    if callable(set_threads):
        set_threads(threads)
    _ad = _Adapter(ag)
    return {"framework": "autograd_core", "version": getattr(ag, "__version__", "?"), "numpy": np.__version__,
            "numba_imported_by_import": numba_by_import}


def build(case, inputs):
    return common.build(_ad, case, inputs)


def runtime_info():
    info = {"numba_loaded": "numba" in sys.modules}
    if "numba" in sys.modules:
        import numba

        info["numba"] = numba.__version__
        info["numba_threads"] = numba.get_num_threads()
        try:
            info["numba_threading_layer"] = numba.threading_layer()
        except Exception:  # no parallel kernel has run yet
            info["numba_threading_layer"] = None
    info.update(blas_threads())
    return info


def blas_threads():
    try:
        import threadpoolctl
    except ImportError:
        return {}
    return {"thread_pools": [{k: d.get(k) for k in ("internal_api", "num_threads", "threading_layer")}
                             for d in threadpoolctl.threadpool_info()]}
