"""The built-in operations, one module per family, each op a ``Function``.

Each module declares its public ops once, in its ``__all__``, and marks with
``@method`` / ``@functional`` (``_declare.py``) the ones that are also Tensor
methods or ``nn.functional`` entries. Everything else is derived here:

- ``PUBLIC``: name -> op for every module's ``__all__`` (``autograd_core.<name>``), its tensor
  arguments checked (``_inputs.py``: a list gets a ``TypeError`` naming the argument);
- ``install_methods(Tensor)``: the Tensor methods;
- ``FUNCTIONAL``: name -> op for ``nn.functional``.

To add a module, append it to ``MODULES``.
"""

from . import (elementwise, reduce, shape, linalg, index, conv, pool, norm, loss,  # noqa: F401
               dropout, foreach, pointwise, sort, factory, cumulative, distance, activation, layers, vision)
from ._routes import log_routes, Route  # noqa: F401  (which kernel route conv / pool took)
from ._inputs import checked

MODULES = (elementwise, reduce, shape, linalg, index, conv, pool, norm, loss, dropout, foreach,
           pointwise, sort, factory, cumulative, distance, activation, layers, vision)


def _public():
    table = {}
    for mod in MODULES:
        for name in mod.__all__:
            if name in table and table[name] is not getattr(mod, name):
                raise ImportError(f"autograd_core.ops: {name!r} is declared by two modules "
                                  f"({table[name].__module__} and {mod.__name__})")
            table[name] = getattr(mod, name)
    return table


def _methods():
    """name -> method for every function marked ``@method`` in the ops modules.

    A marked function that is not in its module's ``__all__`` is a method only
    (``x.contiguous()``, ``x.reshape_as(y)``); aliases (``clip = clamp``) are
    methods under both names.
    """
    table = {}
    for mod in MODULES:
        for name, obj in vars(mod).items():
            impl = getattr(obj, "__tensor_method__", None)
            if impl is not None and getattr(obj, "__module__", None) == mod.__name__ and not name.startswith("_"):
                table[name] = impl
    return table


PUBLIC = {name: checked(op) for name, op in _public().items()}  # lists refused by name (_inputs.py)
FUNCTIONAL = {name: op for name, op in PUBLIC.items() if getattr(op, "__nn_functional__", False)}
METHODS = _methods()


def install_methods(cls):
    """Give ``cls`` (Tensor) every declared method it does not define itself."""
    for name, fn in METHODS.items():
        if name not in vars(cls):
            setattr(cls, name, fn)

