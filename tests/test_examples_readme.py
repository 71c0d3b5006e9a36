"""examples/README.md lists every script with its command, and every script answers --help."""

import importlib
import os
import re
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")
sys.path.insert(0, EXAMPLES)
HELPERS = ("example_utils.py", "distributed_run.py")   # modules the scripts import, not scripts
SCRIPTS = sorted(f[:-3] for f in os.listdir(EXAMPLES) if f.endswith(".py") and f not in HELPERS)


def readme():
    with open(os.path.join(EXAMPLES, "README.md")) as f:
        return f.read()


def test_every_script_is_listed_with_its_command():
    text = readme()
    for name in SCRIPTS:
        assert f"`{name}.py`" in text, f"examples/README.md does not list {name}.py"
        if name not in ("train_lenet5", "train_demo"):   # those two are documented in the top-level README
            assert f"python examples/{name}.py" in text, f"examples/README.md gives no command for {name}.py"
            assert f"## {name}.py" in text


def test_links_point_at_sections_that_exist():
    text = readme()
    headings = {re.sub(r"[^a-z0-9_ -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^## (.+)$", text, re.M)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert anchor in headings, anchor


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name, capsys):
    module = importlib.import_module(name)
    with pytest.raises(SystemExit) as e:
        module.main(["--help"])
    assert e.value.code == 0
    assert "usage:" in capsys.readouterr().out
