"""Optimizers, learning-rate schedules and early stopping (PyTorch's ``torch.optim`` names).

>>> import optim
>>> opt = optim.Adam(model.parameters(), lr=1e-3)     # doctest: +SKIP
>>> opt.zero_grad(); loss.backward(); opt.step()       # doctest: +SKIP

Every name in the ``__all__`` of the modules in ``_MODULES`` is exported here:
a new optimizer is one module (add it to the list) with its class in ``__all__``.
"""

from . import optimizer, sgd, adagrad, adadelta, rmsprop, adam, adamax, nadam, radam, lbfgs, early_stopping
from . import lr_scheduler  # noqa: F401

_MODULES = (optimizer, sgd, adagrad, adadelta, rmsprop, adam, adamax, nadam, radam, lbfgs, early_stopping)

__all__ = [name for mod in _MODULES for name in mod.__all__ if name != "required"] + ["lr_scheduler"]
globals().update({name: getattr(mod, name) for mod in _MODULES for name in mod.__all__})
