"""The plain numpy references (``benchmarks.reference``) as a framework of their own."""

from __future__ import annotations

import numpy as np

from .. import models as M
from ..cases import expected_outputs


def setup(threads):
    return {"framework": "numpy", "version": np.__version__}


def build(case, inputs):
    if case.kind == "train_step":
        init = {k[6:]: v for k, v in inputs.items() if k.startswith("param:")}
        model = M.NumpyModel(M.MODELS[case.p["model"]], init)
        x, labels = inputs["x"], inputs["labels"]

        def observe(loss):
            out = {"loss": np.asarray(loss)}
            out.update({"delta:" + k: model.params[k] - init[k] for k in init})
            return out
        def run():
            return model.step(x, labels)

        def freeze():  # as in common._train_step: same work, no drift into denormal gradients
            model.lr = 0.0

        run.before_timing = freeze
        return run, observe
    return (lambda: expected_outputs(case, inputs)), (lambda out: out[0])


def runtime_info():
    from .ours_fw import blas_threads

    return blas_threads()
