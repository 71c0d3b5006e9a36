"""autograd_core.viz.make_dot: the DOT text of small graphs (nodes, edges, names), and a rendered PNG."""

import re
import shutil
import sys

import numpy as np
import pytest

import autograd_core as ag
import nn

pytest.importorskip("graphviz")
from autograd_core.viz import make_dot, record_modules  # noqa: E402


def parse(dot):
    """(labels by node id, edges as (from label, to label), node id -> cluster path) from DOT text."""
    labels, clusters, edges, stack = {}, {}, [], []
    for line in dot.source.splitlines():
        s = line.strip()
        m = re.match(r'subgraph "cluster_(.*)" \{', s)
        if m:
            stack.append(m.group(1))
            continue
        if s == "}":
            if stack:
                stack.pop()
            continue
        m = re.match(r'(\S+) -> (\S+)( \[.*\])?$', s)
        if m:
            edges.append((m.group(1), m.group(2), bool(m.group(3))))
            continue
        m = re.match(r'(\S+) \[label="((?:[^"\\]|\\.)*)"', s)
        if m:
            labels[m.group(1)] = m.group(2).replace("\\n", "\n")
            clusters[m.group(1)] = stack[-1] if stack else ""
    named = [(labels[a], labels[b], dashed) for a, b, dashed in edges]
    return labels, named, clusters


def first_line(label):
    return label.split("\n")[0]


def test_dot_text_of_a_small_graph():
    x = ag.tensor(np.ones((4, 3), dtype=np.float32))
    w = ag.tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    b = ag.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    y = ((x @ w + b).relu()).sum()
    dot = make_dot(y, params={"w": w, "b": b})
    labels, edges, _ = parse(dot)
    assert sorted(first_line(v) for v in labels.values()) == sorted(
        ["output", "SumBackward", "ReluBackward", "AddBackward", "MatmulBackward", "w", "b"])
    by_name = {first_line(v): v for v in labels.values()}
    assert by_name["w"] == "w\n(3, 2) float32" and by_name["b"] == "b\n(2,) float32"
    assert by_name["MatmulBackward"] == "MatmulBackward\n(4, 2) float32"    # the shape of the tensor it made
    assert by_name["SumBackward"] == "SumBackward\n() float32"
    assert 'fillcolor="darkolivegreen1"' in dot.source and 'fillcolor="lightblue"' in dot.source
    # edges point the way gradients flow: output -> ... -> leaves
    assert sorted((first_line(a), first_line(b_)) for a, b_, _ in edges) == sorted([
        ("output", "SumBackward"), ("SumBackward", "ReluBackward"), ("ReluBackward", "AddBackward"),
        ("AddBackward", "MatmulBackward"), ("AddBackward", "b"), ("MatmulBackward", "w")])


def test_show_saved_and_no_shapes():
    x = ag.randn(5, 3, requires_grad=True)
    y = x.tanh().sum()
    labels, edges, _ = parse(make_dot(y, show_saved=True))
    saved = [v for v in labels.values() if v.startswith("saved")]
    assert saved == ["saved 0\n(5, 3) float32"]          # tanh keeps its output
    assert ("TanhBackward\n(5, 3) float32", "saved 0\n(5, 3) float32", True) in edges
    labels, _, _ = parse(make_dot(y, params={"x": x}, show_shapes=False))
    assert sorted(labels.values()) == ["SumBackward", "TanhBackward", "output", "x"]


def test_named_intermediate_tensors_show_values_and_gradients():
    a = ag.tensor(2.0, requires_grad=True)
    b = ag.tensor(-3.0, requires_grad=True)
    c = a * b
    c.retain_grad()
    d = c + 10.0
    d.backward()
    labels, _, _ = parse(make_dot(d, params={"a": a, "b": b, "c": c}, show_values=True))
    by_name = {first_line(v): v for v in labels.values()}
    assert by_name["c"] == "c\nMulBackward\n() float32\ndata -6\ngrad 1"
    assert by_name["a"] == "a\n() float32\ndata 2\ngrad -3"


def test_modules_become_nested_clusters():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2), nn.Tanh()))
    x = ag.randn(2, 3)
    with record_modules(model):
        y = model(x).sum()
    labels, _, clusters = parse(make_dot(y, params=dict(model.named_parameters()), modules=model))
    where = {first_line(labels[k]): c for k, c in clusters.items()}
    assert where["0.weight"] == where["0.bias"] == "0"
    assert where["ReluBackward"] == "1"
    assert where["TanhBackward"] == "2.1" and where["2.0.weight"] == "2.0"
    assert where["SumBackward"] == "" and where["output"] == ""
    assert 'label="2.0 (Linear)"' in make_dot(y, modules=model).source
    # without record_modules: only the nodes that take a module's parameters are placed
    y2 = model(x).sum()
    labels, _, clusters = parse(make_dot(y2, params=dict(model.named_parameters()), modules=model))
    where = {first_line(labels[k]): c for k, c in clusters.items()}
    assert where["ReluBackward"] == "" and where["0.weight"] == "0"
    assert sorted(c for k, c in clusters.items() if first_line(labels[k]) == "LinearBackward") == ["0", "2.0"]


def test_a_100k_op_chain_does_not_recurse():
    x = ag.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    dot = make_dot(y)
    assert dot.source.count("MulBackward") == 100_000
    assert dot.source.count(" -> ") == 100_001      # output -> last, 99,999 between nodes, first -> x


def test_errors_say_what_to_install(monkeypatch, tmp_path):
    x = ag.randn(2, requires_grad=True)
    dot = make_dot(x.sum())
    monkeypatch.setenv("PATH", str(tmp_path))            # no `dot` program
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        dot.render(str(tmp_path / "g"), format="png")
    monkeypatch.setitem(sys.modules, "graphviz", None)   # no graphviz package
    with pytest.raises(ImportError, match=r"pip install \"autograd-core\[viz\]\""):
        make_dot(x.sum())
    with pytest.raises(TypeError, match="output 0 must be a Tensor"):
        make_dot([np.ones(2)])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_renders_png_and_svg(tmp_path):
    ag.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    with record_modules(model):
        y = model(ag.randn(2, 1, 6, 6)).sum()
    dot = make_dot(y, params=dict(model.named_parameters()), modules=model, show_saved=True)
    png = dot.render(str(tmp_path / "graph"), format="png", cleanup=True)
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    svg = dot.render(str(tmp_path / "graph"), format="svg")
    text = open(svg).read()
    assert "<svg" in text and "Conv2dBackward" in text and "3.weight" in text
