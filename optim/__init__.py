"""Optimizers, learning-rate schedules and early stopping (PyTorch's ``torch.optim`` names).

>>> import optim
>>> opt = optim.Adam(model.parameters(), lr=1e-3)     # doctest: +SKIP
>>> opt.zero_grad(); loss.backward(); opt.step()       # doctest: +SKIP
"""

from .optimizer import Optimizer
from .sgd import SGD
from .adagrad import Adagrad
from .adadelta import Adadelta
from .rmsprop import RMSprop
from .adam import Adam, AdamW
from .early_stopping import EarlyStopping
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "EarlyStopping", "lr_scheduler"]
