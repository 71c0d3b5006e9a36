"""The node ``autograd_core.utils.checkpoint`` puts on a checkpointed segment's outputs.

Not a public op (nothing in ``__all__``): ``checkpoint()`` in
``autograd_core/utils/checkpoint.py`` applies it and explains the design.
"""

from __future__ import annotations

from ..function import Function

__all__: list = []


class CheckpointFunction(Function):
    """The identity on a checkpointed segment's outputs; its backward recomputes the segment first.

    ``state`` has ``recompute()``, which runs the segment again and gives its
    nodes back what they saved for backward (see ``utils/checkpoint.py``).
    """

    @staticmethod
    def forward(ctx, state, *arrays):
        ctx.state = state
        return arrays if len(arrays) > 1 else arrays[0]

    @staticmethod
    def backward(ctx, *grads):
        ctx.state.recompute()
        return (None,) + grads
