"""Early stopping: stop training when a validation metric stops improving, keep the best parameters.

As a regulariser (Goodfellow et al., Deep Learning, section 7.8): training
error keeps falling while validation error turns up; the parameters from the
epoch with the best validation error generalise best, and training can stop
once ``patience`` epochs have passed without a better one.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Track a validation metric; say when to stop; remember the best model's parameters.

    Parameters
    ----------
    patience : int
        Stop once this many epochs in a row brought no improvement (0 acts like 1).
    min_delta : float
        The smallest change that counts as an improvement.
    mode : 'min' or 'max'
        Whether lower (a loss) or higher (an accuracy) is better.

    Examples
    --------
    >>> stopper = EarlyStopping(patience=3)
    >>> for epoch in range(100):          # doctest: +SKIP
    ...     train_one_epoch()
    ...     if stopper.step(validation_loss(), model):
    ...         break
    >>> stopper.restore(model)            # doctest: +SKIP
    """

    def __init__(self, patience=5, min_delta=0.0, mode="min"):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.best_state = None
        self.epoch = 0
        self.num_bad_epochs = 0
        self.should_stop = False

    def _improved(self, value):
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, metric, model=None):
        """Record this epoch's ``metric``; return True when training should stop.

        If ``model`` is given and the metric improved, a copy of its
        ``state_dict()`` is kept as ``best_state`` (see ``restore``).
        """
        value = float(metric)
        if self._improved(value):
            self.best = value
            self.best_epoch = self.epoch
            self.num_bad_epochs = 0
            if model is not None:
                self.best_state = {k: np.array(v.data, copy=True) for k, v in model.state_dict().items()}
        else:
            self.num_bad_epochs += 1
        self.epoch += 1
        # patience=0: stop at the first epoch that does not improve
        self.should_stop = self.num_bad_epochs >= max(self.patience, 1)
        return self.should_stop

    def restore(self, model):
        """Load the best parameters seen into ``model``."""
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore: no best state recorded; pass the model to step(metric, model)")
        model.load_state_dict(self.best_state)
        return model

    def state_dict(self):
        return dict(self.__dict__)

    def load_state_dict(self, state_dict):
        self.__dict__.update(state_dict)
