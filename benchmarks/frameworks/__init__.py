"""The frameworks a case runs on, each in its own worker process.

Each module here has ``setup(threads) -> info``, ``build(case, inputs) -> (run,
observe)`` and ``runtime_info() -> dict``. ``run()`` is what is timed; it
returns the framework's own objects, and ``observe(result)`` turns them into
numpy arrays named like the reference outputs, for the correctness check.
``build`` raises ``Unavailable`` when the framework lacks what the case needs
(the case is then reported as "unavailable: <why>", not as a crash).

- ``ours``: autograd_core (and its ``nn``, ``optim``);
- ``numpy``: the plain numpy references of ``benchmarks.reference``;
- ``torch``: PyTorch, run by an interpreter that has it (``--torch-python``).
"""

NAMES = ("ours", "numpy", "torch")


class Unavailable(Exception):
    """The framework cannot run this case (yet); the message says why."""


def load(name):
    import importlib

    if name not in NAMES:
        raise ValueError(f"unknown framework {name!r}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}_fw")
