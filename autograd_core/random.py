"""The package's random number generator (``manual_seed`` makes runs repeatable), and ``Generator``.

Everything random in autograd_core, nn and the data loaders draws from the
generator returned by ``get_rng()``, so one ``manual_seed(s)`` fixes them all.
A ``Generator`` is a stream of its own (``torch.Generator``): pass it as
``generator=`` to the random factories, the samplers, ``random_split`` and
``DataLoader`` to keep their draws apart from the package generator's.
"""

from __future__ import annotations

import numpy as np

_MAX_SEED = 2 ** 63 - 1


def _fresh_seed():
    return int(np.random.SeedSequence().entropy) & _MAX_SEED


def _checked_seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative int, got {seed!r}")
    return int(seed)


_seed = _fresh_seed()
_rng = np.random.default_rng(_seed)


def manual_seed(seed: int):
    """Seed the generator used by ``randn``, ``rand``, ``nn.init``, dropout and shuffling."""
    global _rng, _seed
    _seed = _checked_seed(seed, "manual_seed")
    _rng = np.random.default_rng(_seed)
    return _rng


def seed():
    """Seed the package generator from the operating system's entropy; returns the seed."""
    s = _fresh_seed()
    manual_seed(s)
    return s


def initial_seed():
    """The seed the package generator was last seeded with."""
    return _seed


def get_rng() -> np.random.Generator:
    return _rng


def get_rng_state():
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state


class Generator:
    """A random number generator of its own, as ``torch.Generator``.

    >>> g = Generator().manual_seed(42)
    >>> a = randn(3, generator=g)      # doctest: +SKIP

    Its state (``get_state()``) is numpy's bit-generator state, a dict.
    """

    def __init__(self, device="cpu"):
        from .devices import check
        check(device, "Generator")
        self._seed = _fresh_seed()
        self.rng = np.random.default_rng(self._seed)

    @property
    def device(self):
        from .devices import CPU
        return CPU

    def manual_seed(self, seed):
        self._seed = _checked_seed(seed, "Generator.manual_seed")
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        s = _fresh_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        return self.rng.bit_generator.state

    def set_state(self, state):
        self.rng.bit_generator.state = state
        return self

    def __repr__(self):
        return f"<autograd_core.Generator seed={self._seed}>"


def numpy_rng(generator, where="generator"):
    """The numpy Generator to draw from: the package's for None, else ``generator``'s own."""
    if generator is None:
        return _rng
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{where}: generator must be an autograd_core.Generator (or a numpy Generator), got "
                    f"{type(generator).__name__}")
