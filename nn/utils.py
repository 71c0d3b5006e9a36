"""Gradient clipping and parameter/vector conversion (``torch.nn.utils`` names)."""

from __future__ import annotations

import math

import numpy as np

from autograd_core import Tensor, from_numpy, increment_version

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if concatenated into one vector;
    if it exceeds ``max_norm``, every gradient is multiplied in place by
    ``max_norm / (norm + 1e-6)``. Parameters without a gradient are skipped.

    Returns
    -------
    Tensor
        The total norm before clipping (a scalar).
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (or inf), got {norm_type}")
    grads = [p.grad.data for p in _params(parameters) if p.grad is not None]
    if not grads:
        return from_numpy(np.asarray(0.0, dtype=np.float32))
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        total = math.sqrt(sum(float(np.vdot(g, g).real) for g in grads))
    else:
        total = sum(float((np.abs(g) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type)
    if not math.isfinite(total) and error_if_nonfinite:
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, so they "
            "cannot be clipped; pass error_if_nonfinite=False to skip this check")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return from_numpy(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for p in _params(parameters):
        if p.grad is not None:
            np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor (a copy)."""
    ps = _params(parameters)
    return from_numpy(np.concatenate([p.data.reshape(-1) for p in ps]) if ps else np.zeros(0, np.float32))


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    v = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    ps = _params(parameters)
    need = sum(p.data.size for p in ps)
    if v.ndim != 1 or v.size != need:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {need} elements (the parameters' "
                         f"total size), got shape {v.shape}")
    i = 0
    for p in ps:
        n = p.data.size
        p.data[...] = v[i:i + n].reshape(p.data.shape)
        increment_version(p)
        i += n
