"""Functional forms of the layers and losses (``torch.nn.functional``'s names).

Nothing is defined here: every entry is an op of ``autograd_core.ops`` marked
``@functional`` where it is declared (activations in ``ops/elementwise.py``,
``ops/activation.py`` and ``ops/reduce.py``, ``linear`` in ``ops/linalg.py``,
convolutions and pooling in ``ops/conv.py`` / ``ops/pool.py``, the
normalisations in ``ops/norm.py``, the losses in ``ops/loss.py``, the dropouts
in ``ops/dropout.py``, ``embedding`` and ``bilinear`` in ``ops/layers.py``,
``interpolate``, ``pixel_shuffle``, ``unfold`` and ``fold`` in
``ops/vision.py``, ``cosine_similarity`` in ``ops/distance.py``). The layers in
``nn`` call these; so can you.
"""

from autograd_core.ops import FUNCTIONAL as _FUNCTIONAL

globals().update(_FUNCTIONAL)

__all__ = sorted(_FUNCTIONAL)
