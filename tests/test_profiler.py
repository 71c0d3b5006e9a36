"""autograd_core.profiler: counts equal to the ops run, times that add up, FLOPs from the shapes, a valid trace."""

import json

import numpy as np
import pytest

import autograd_core as ag
import autograd_core.autograd as engine
import autograd_core.function as function
import nn.functional as F
from autograd_core.profiler import profile, record_function


def rows(prof, **kw):
    return {(r.key, r.phase): r for r in prof.key_averages(**kw)}


def graph_nodes(t):
    """The nodes of t's graph, by an independent walk over next_functions."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen or n.name() == "AccumulateGrad":
            continue
        seen.add(id(n))
        stack.extend(f for f, _ in n.next_functions)
    return len(seen)


def test_counts_equal_the_ops_run():
    x = ag.randn(8, 8, requires_grad=True)
    w = ag.randn(8, 8, requires_grad=True)
    steps = 5
    with profile() as prof:
        for _ in range(steps):
            loss = ((x * w).relu() @ w).sum()
            n_nodes = graph_nodes(loss)
            loss.backward()
    r = rows(prof)
    for op in ("Mul", "Relu", "Matmul", "Sum"):
        assert r[op, "fwd"].count == steps, op
    for node in ("MulBackward", "ReluBackward", "MatmulBackward", "SumBackward"):
        assert r[node, "bwd"].count == steps, node
    assert n_nodes == 4
    assert sum(v.count for (k, ph), v in r.items() if k.endswith("Backward")) == steps * n_nodes
    # the ops a node's backward runs are backward too, and are its children
    assert r["Matmul", "bwd"].count == 2 * steps     # g @ w.T and x.T @ g
    assert r["MatmulBackward", "bwd"].cpu_time_total >= r["MatmulBackward", "bwd"].self_cpu_time_total


def test_nothing_is_recorded_outside_and_the_hooks_are_off_again():
    assert function._apply_hook is None and engine._node_hook is None
    x = ag.randn(3, requires_grad=True)
    with profile() as prof:
        assert function._apply_hook is not None and engine._node_hook is not None
        (x * 2).sum().backward()
    assert function._apply_hook is None and engine._node_hook is None
    n = len(prof.events())
    (x * 2).sum().backward()
    assert len(prof.events()) == n
    with profile(enabled=False) as off:
        (x * 2).sum()
    assert len(off.events()) == 0


def test_self_and_total_times_add_up_and_record_function_nests():
    x = ag.randn(64, 64, requires_grad=True)
    with profile() as prof:
        with record_function("step"):
            with record_function("forward"):
                y = (x @ x).tanh().sum()
            y.backward()
    events = prof.events()
    step = [e for e in events if e.name == "step"][0]
    inner = [e for e in events if e.depth == 1]          # direct children of "step"
    assert {e.name for e in inner} >= {"forward", "SumBackward"}
    total_children = sum(e.end - e.start for e in inner)
    assert step.self_ns == (step.end - step.start) - total_children
    for e in events:
        assert 0 <= e.self_ns <= e.end - e.start
    fwd = [e for e in events if e.name == "forward"][0]
    assert all(fwd.start <= e.start and e.end <= fwd.end for e in events if e.name in ("Matmul", "Tanh")
               and e.phase == "fwd")


def test_flops_of_conv_and_matmul_from_the_shapes():
    x = ag.randn(2, 3, 10, 10, requires_grad=True)
    w = ag.randn(4, 3, 3, 3, requires_grad=True)
    a, b = ag.randn(5, 7, requires_grad=True), ag.randn(7, 6)
    lw = ag.randn(6, 7, requires_grad=True)
    with profile(with_flops=True) as prof:
        y = ag.conv2d(x, w, padding=1)
        (a @ b).sum()
        F.linear(a, lw)
    r = rows(prof)
    assert r["Conv2d", "fwd"].flops == 2 * (2 * 4 * 10 * 10) * (3 * 3 * 3)
    assert r["Matmul", "fwd"].flops == 2 * 5 * 7 * 6
    assert r["Linear", "fwd"].flops == 2 * 5 * 7 * 6
    with profile(with_flops=True) as prof:
        y.sum().backward()
    # input and weight gradients: each as many multiply-adds as the forward
    bwd = sum(v.flops for (k, ph), v in rows(prof).items() if ph == "bwd")
    assert bwd == 2 * 2 * (2 * 4 * 10 * 10) * (3 * 3 * 3)
    assert "Total FLOPs" in prof.key_averages().table()


def test_memory_counts_the_arrays_an_op_allocates():
    x = ag.randn(256, 256)      # float32: 256 KiB
    with profile(profile_memory=True) as prof:
        keep = x * 2.0           # one new 256 KiB array, kept
    r = rows(prof)
    assert r["Mul", "fwd"].cpu_memory_usage >= 256 * 256 * 4
    assert r["Mul", "fwd"].cpu_memory_usage < 2 * 256 * 256 * 4
    assert keep.shape == (256, 256)
    assert "CPU Mem" in prof.key_averages().table()


def test_numba_compile_time_is_shown_apart():
    numba = pytest.importorskip("numba")

    @numba.njit(cache=False)
    def twice(a):   # a fresh function: its first call compiles, whatever the on-disk cache holds
        return a * 2.0

    class Twice(ag.Function):
        @staticmethod
        def forward(ctx, a):
            return twice(a)

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    x = ag.randn(4, requires_grad=True)
    with profile() as prof:
        Twice.apply(x)
        Twice.apply(x)
    r = rows(prof)["Twice", "fwd"]
    assert r.count == 2 and r.compile_time_total > 1000          # > 1 ms of compiling, in us
    e1, e2 = [e for e in prof.events() if e.name == "Twice"]
    assert e1.compile_ns > 0 and e2.compile_ns == 0
    # the compile time is taken out of the op's own time
    assert e1.cpu_time_total * 1e3 == pytest.approx((e1.end - e1.start) - e1.compile_ns)
    table = prof.key_averages().table()
    assert "Numba compile / cache load" in table
    assert any(e.kind == "compile" for e in prof.events())


def test_table_sorting_limits_and_errors():
    x = ag.randn(32, 32, requires_grad=True)
    with profile(record_shapes=True) as prof:
        for _ in range(3):
            (x * x).sum().backward()
        (x @ x).sum()
    table = prof.key_averages().table(sort_by="count", row_limit=2)
    lines = table.splitlines()
    assert "Name" in lines[1] and "Self CPU" in lines[1] and "# of Calls" in lines[1]
    body = lines[3:5]
    assert "more rows" in table
    counts = [r.count for r in sorted(prof.key_averages(), key=lambda r: -r.count)]
    assert [int(line.split()[-1]) for line in body] == counts[:2]
    shapes = prof.key_averages(group_by_input_shape=True).table()
    assert "[[32, 32], [32, 32]]" in shapes
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.key_averages().table(sort_by="speed")
    with profile():
        with pytest.raises(RuntimeError, match="already running"):
            profile().__enter__()


def test_chrome_trace_is_valid_json_with_complete_events(tmp_path):
    x = ag.randn(16, 16, requires_grad=True)
    with profile(record_shapes=True) as prof:
        with record_function("step"):
            (x @ x).sum().backward()
    path = prof.export_chrome_trace(str(tmp_path / "trace.json"))
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"]
    assert len(events) == len(prof.events())
    for e in events:
        assert e["ph"] == "X" and isinstance(e["ts"], float) and e["dur"] >= 0
        assert {"name", "cat", "pid", "tid"} <= set(e)
    cats = {e["name"]: e["cat"] for e in events}
    assert cats["step"] == "user" and cats["MatmulBackward"] == "backward" and cats["Sum"] == "forward"
    mm = [e for e in events if e["name"] == "Matmul" and e["cat"] == "forward"][0]
    assert mm["args"]["Input Shapes"] == [[16, 16], [16, 16]]
    ts = [e["ts"] for e in events]
    assert ts == sorted(ts)


class Fails(ag.Function):
    @staticmethod
    def forward(ctx, a):
        raise ValueError("no")


def test_an_op_that_raises_leaves_the_profiler_consistent():
    x = ag.randn(3, 4)
    with profile() as prof:
        with pytest.raises(ag.ShapeError):
            Fails.apply(x)
        (x * 2).sum()
    r = rows(prof)
    assert r["Fails", "fwd"].count == 1 and r["Sum", "fwd"].count == 1
    assert all(e.depth == 0 for e in prof.events())
