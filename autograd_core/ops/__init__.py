"""The built-in operations, one module per family, each op a ``Function``."""

from . import elementwise, reduce, shape, linalg, index  # noqa: F401


def _method_table():
    """Tensor methods that are the functional op with the tensor as first argument."""
    E, R, S, L = elementwise, reduce, shape, linalg
    table = {}
    for mod, names in [
        (E, "add sub mul div pow neg abs exp log sqrt sin cos tanh sigmoid relu leaky_relu elu "
            "softplus clamp clip maximum minimum square reciprocal clone contiguous sign "
            "eq ne lt le gt ge isnan isfinite logical_not logical_and logical_or allclose equal"),
        (R, "sum mean var std amax amin max min logsumexp softmax log_softmax argmax argmin all any"),
        (S, "reshape view view_as reshape_as flatten permute transpose t squeeze unsqueeze "
            "broadcast_to expand expand_as"),
        (L, "matmul mm dot"),
    ]:
        for n in names.split():
            table[n] = getattr(mod, n)

    def where(self, condition, other):  # Tensor.where(cond, y) == where(cond, self, y)
        return E.where(condition, self, other)

    table["where"] = where
    table["negative"] = E.neg
    table["divide"] = E.div
    table["multiply"] = E.mul
    table["subtract"] = E.sub
    table["absolute"] = E.abs
    return table
