"""Functional forms of the layers and losses (``torch.nn.functional``'s names).

Nothing is defined here: every entry is an op of ``autograd_core.ops`` marked
``@functional`` where it is declared (activations in ``ops/elementwise.py`` and
``ops/reduce.py``, ``linear`` in ``ops/linalg.py``, convolutions and pooling in
``ops/conv.py`` / ``ops/pool.py``, ``batch_norm`` in ``ops/norm.py``, the
losses in ``ops/loss.py``, ``dropout`` in ``ops/dropout.py``,
``cosine_similarity`` in ``ops/distance.py``). The layers in
``nn`` call these; so can you.
"""

from autograd_core.ops import FUNCTIONAL as _FUNCTIONAL

globals().update(_FUNCTIONAL)

__all__ = sorted(_FUNCTIONAL)
