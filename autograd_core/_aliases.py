"""``autograd_core.nn``, ``autograd_core.optim``, ``autograd_core.utils.data``: the same modules as ``nn``,
``optim`` and ``autograd_core.data`` under PyTorch's paths.

A script written for PyTorch imports ``torch.nn``, ``torch.optim`` and ``torch.utils.data``. With
``import autograd_core as torch`` those paths must reach the very module objects ``import nn`` gives: one
copy of every class, so ``isinstance`` holds whichever name built the object.

``nn`` and ``optim`` import ``autograd_core``, so the package cannot import them while it initialises
(whichever of the two a script imports first). Two mechanisms instead, both lazy:

- attribute access (``autograd_core.nn.Linear``) goes through the package's module ``__getattr__``,
  which imports ``autograd_core.nn`` on first use;
- the import statement (``import autograd_core.nn.functional as F``) is answered by ``AliasFinder``,
  first on ``sys.meta_path``: for an alias name it imports the real module and hands that very object to
  the import system, which files it in ``sys.modules`` under the alias name too. Without the finder,
  Python's path finder would find ``nn/functional.py`` again through ``nn.__path__`` and execute it a
  second time, under the alias name: a second copy of every class.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys

# alias prefix -> real module name; submodules follow (autograd_core.nn.functional -> nn.functional)
ALIASES = {
    "autograd_core.nn": "nn",
    "autograd_core.optim": "optim",
    "autograd_core.utils.data": "autograd_core.data",
}


def real_name(name):
    """The real module an alias name stands for, or None if ``name`` is not an alias."""
    for alias, real in ALIASES.items():
        if name == alias or name.startswith(alias + "."):
            return real + name[len(alias):]
    return None


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds alias names and loads them as the real module object (executing nothing twice)."""

    def find_spec(self, name, path=None, target=None):
        real = real_name(name)
        if real is None:
            return None
        return importlib.machinery.ModuleSpec(name, self, is_package=True)

    def create_module(self, spec):
        module = importlib.import_module(real_name(spec.name))
        # the import system is about to overwrite module.__spec__ with the alias's spec: keep the real
        # one (it names the file, and multiprocessing and importlib.reload read it) to restore it below
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module):
        spec = module.__spec__
        if isinstance(spec, importlib.machinery.ModuleSpec) and spec.loader is self:
            module.__spec__ = spec.loader_state


def install():
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
