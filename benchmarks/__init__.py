"""The benchmark CLI of autograd-core: ``python -m benchmarks --help`` (or ``autograd-bench``).

Every case is checked against a plain numpy reference before it is timed; each
framework (ours, numpy, PyTorch) runs in its own process. See ``cli.py`` for the
command line, ``cases.py`` and ``presets.py`` for what is measured, ``timing.py``
for how. Importing this package imports nothing heavy.
"""

__all__ = ["main"]


def main(argv=None):
    from .cli import main as _main

    return _main(argv)
