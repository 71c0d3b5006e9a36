"""PyTorch, driven through the shared builders (imported only inside a torch worker)."""

from __future__ import annotations

import numpy as np

from . import Unavailable, common

torch = None


class _Adapter:
    def T(self, arr, requires_grad=False):
        return torch.tensor(arr, requires_grad=requires_grad)

    @staticmethod
    def A(t):
        return t.detach().numpy()

    @staticmethod
    def T_like(arr, like):
        """A tensor of ``arr``'s values in the memory layout of tensor ``like``."""
        return torch.empty_like(like).copy_(torch.from_numpy(arr))

    @staticmethod
    def grad(outputs, inputs, grad_outputs, retain_graph):
        return torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph=retain_graph)

    @staticmethod
    def op(name):
        fn = getattr(torch.nn.functional, name, None)
        if fn is None:
            raise Unavailable(f"torch.nn.functional has no {name}")
        return fn

    @property
    def nn(self):
        return torch.nn

    @property
    def optim(self):
        return torch.optim

    @staticmethod
    def load_param(param, arr):
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(arr)))

    @staticmethod
    def start_profiler():
        prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
        prof.start()
        return prof


_ad = _Adapter()


def setup(threads):
    global torch
    import torch as _torch

    torch = _torch
    torch.set_num_threads(threads)
    return {"framework": "torch", "version": torch.__version__, "numpy": np.__version__,
            "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads()}


def build(case, inputs):
    return common.build(_ad, case, inputs)


def runtime_info():
    cfg = torch.__config__.parallel_info().splitlines()
    return {"threads": torch.get_num_threads(), "parallel_info": [ln.strip() for ln in cfg if ln.strip()][:8]}
