"""The README's Python examples run as written (so the README stays true)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_blocks())))
def test_readme_block_runs(index):
    # blocks build on each other (the op_test one uses Swish), so run all up to this one
    ns = {}
    for block in _blocks()[: index + 1]:
        exec(compile(block, f"README.md block {index}", "exec"), ns)
    if "test_swish" in ns:
        ns["test_swish"]()  # the property test the README defines
