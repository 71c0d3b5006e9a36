"""The package's random number generator (``manual_seed`` makes runs repeatable).

Everything random in autograd_core, nn and the data loaders draws from the
generator returned by ``get_rng()``, so one ``manual_seed(s)`` fixes them all.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed: int):
    """Seed the generator used by ``randn``, ``rand``, ``nn.init``, dropout and shuffling."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))
    return _rng


def get_rng() -> np.random.Generator:
    return _rng


def get_rng_state():
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state
