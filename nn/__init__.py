"""Layers, losses, initialisation and checkpoints for autograd_core (PyTorch's ``torch.nn`` names).

>>> import autograd_core as ag
>>> import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> loss = nn.CrossEntropyLoss()(model(ag.randn(5, 4)), ag.tensor([0, 2, 1, 1, 0]))
>>> loss.backward()

Every name in the ``__all__`` of the modules listed in ``_LAYER_MODULES`` is
exported here: a new layer is a class in one of them (or a new module added to
the list) plus its name in that module's ``__all__``.
"""

from . import (parameter, module, container, linear, activation, dropout, batchnorm, normalization, conv, pooling,
               padding, upsampling, sparse, loss, serialization)
from . import functional, init, parallel, utils  # noqa: F401

_LAYER_MODULES = (parameter, module, container, linear, activation, dropout, batchnorm, normalization, conv, pooling,
                  padding, upsampling, sparse, loss, serialization)

__all__ = [name for mod in _LAYER_MODULES for name in mod.__all__] + ["functional", "init", "parallel", "utils"]
globals().update({name: getattr(mod, name) for mod in _LAYER_MODULES for name in mod.__all__})
