"""Where the time goes: a profiler with ``torch.profiler``'s names.

>>> import autograd_core as ag
>>> from autograd_core.profiler import profile, record_function
>>> x = ag.randn(64, 128, requires_grad=True)
>>> w = ag.randn(128, 10, requires_grad=True)
>>> with profile(with_flops=True) as prof:
...     with record_function("step"):
...         (x @ w).relu().sum().backward()
>>> print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))  # doctest: +SKIP

What is recorded, per thread:

- every op (a ``Function.apply``: ``Mul``, ``Conv2d``, ...) in the forward
  pass, and every node the engine runs in the backward pass
  (``MulBackward``, ``Conv2dBackward``, ...); the ops a node's backward runs
  are its children, and count as backward ("bwd") too;
- ``record_function(name)`` ranges, which contain what runs inside them;
- with ``record_shapes``, the shapes of each op's array arguments;
- with ``with_flops``, the floating-point operations (2 per multiply-add) of
  convolutions (forward, input and weight gradients) and matrix products
  (``Matmul``, ``Linear``);
- with ``profile_memory``, the bytes of numpy arrays allocated minus those freed
  while the op ran (``tracemalloc``, which numpy reports to; memory that
  Numba kernels allocate themselves is not seen); this slows every
  allocation, so time and memory are best profiled in separate runs;
- the time spent compiling Numba kernels or loading them from the on-disk
  cache (Numba's compiler lock): shown in its own "Compile" column and taken
  out of the op's self and total time, so a first call does not pass for a
  slow op.

Self time is an event's time minus that of its children; total time includes
them. Times are wall-clock (``time.perf_counter_ns``), in microseconds in the
attributes (``self_cpu_time_total`` ...), as in PyTorch.

Cost: with no profiler running, an op pays one global lookup (see
``_hooks.py``); with one running, each recorded op or node costs some
microseconds more (README, "A profiler", has the measured figures).
"""

from __future__ import annotations

import json
import os
import threading
import time

from . import _hooks

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]

_now = time.perf_counter_ns
_active = None  # the running profile (one at a time)
_tls = threading.local()


def _thread_state():
    st = getattr(_tls, "st", None)
    if st is None:
        st = _tls.st = _ThreadState()
    return st


class _ThreadState:
    __slots__ = ("stack", "bwd", "compile_ns", "lock_depth", "lock_start")

    def __init__(self):
        self.stack = []        # open events, innermost last
        self.bwd = 0           # > 0 inside a backward node
        self.compile_ns = 0    # Numba compile / cache-load time of this thread so far
        self.lock_depth = 0
        self.lock_start = 0


class FunctionEvent:
    """One recorded op, backward node, ``record_function`` range or Numba compile.

    Attributes (times in ns): ``name``, ``kind`` ('op', 'node', 'user',
    'compile'), ``phase`` ('fwd', 'bwd' or '' for ranges), ``start``, ``end``,
    ``thread``, ``input_shapes``, ``flops``, ``cpu_memory_usage`` (net bytes
    allocated, children included), ``compile_ns`` (children included),
    ``self_ns``, ``self_compile_ns``, ``self_memory``.
    """

    __slots__ = ("name", "kind", "phase", "start", "end", "thread", "input_shapes", "flops", "cpu_memory_usage",
                 "compile_ns", "self_ns", "self_compile_ns", "self_memory", "child_ns", "child_compile",
                 "child_memory", "c0", "m0", "depth", "_args")

    def __init__(self, name, kind, phase, thread, depth):
        self.name, self.kind, self.phase, self.thread, self.depth = name, kind, phase, thread, depth
        self.input_shapes = None
        self.flops = 0
        self.cpu_memory_usage = self.self_memory = self.child_memory = 0
        self.child_ns = self.child_compile = 0
        self.compile_ns = self.self_compile_ns = 0
        self.end = self.self_ns = 0
        self._args = None

    @property
    def cpu_time_total(self):
        """Time without Numba compiling, children included (us)."""
        return (self.end - self.start - self.compile_ns) / 1e3

    @property
    def self_cpu_time_total(self):
        return (self.self_ns - self.self_compile_ns) / 1e3

    def __repr__(self):
        return (f"<FunctionEvent {self.name} ({self.phase or self.kind}) {self.cpu_time_total:.1f} us, "
                f"self {self.self_cpu_time_total:.1f} us>")


# --------------------------------------------------------------------------- FLOPs

def _conv_k(w):
    return int(w.shape[1]) * int(w.shape[2]) * int(w.shape[3])


def _flops(name, args, out):
    """Floating-point operations (2 per multiply-add) of the ops that do most of them, else 0."""
    try:
        if name == "Conv2d":  # (x, w, b, p, out_hw)
            return 2 * out.data.size * _conv_k(args[1].data if hasattr(args[1], "data") else args[1])
        if name == "ConvTranspose2d":  # (gy, w, p, in_hw, b): conv2d's input gradient (+ a bias)
            return 2 * _size(args[0]) * _conv_k(_arr(args[1]))
        if name == "Conv2dWeightGrad":  # (x, gy, p, k_hw)
            x, gy, p, k = _arr(args[0]), _arr(args[1]), args[2], args[3]
            return 2 * gy.size * (x.shape[1] // p[-1]) * k[0] * k[1]
        if name == "Conv2dBackward":  # (x, gy, w, p, with_bias): both gradients
            return 4 * _size(args[1]) * _conv_k(_arr(args[2]))
        if name in ("Matmul", "Linear"):  # out = a @ b (a @ W.T): K multiply-adds per output
            o = out[0] if type(out) is tuple else out
            return 2 * o.data.size * _arr(args[0]).shape[-1]
    except (AttributeError, IndexError, TypeError):
        return 0
    return 0


def _arr(a):
    return a.data if hasattr(a, "data") and not hasattr(a, "flags") else a


def _size(a):
    return _arr(a).size


def _shapes(args):
    out = []
    for a in args:
        d = _arr(a)
        out.append(list(d.shape) if hasattr(d, "shape") and hasattr(d, "dtype") else [])
    return out


# --------------------------------------------------------------------------- the profiler

class profile:
    """Record ops, backward nodes and ``record_function`` ranges while the ``with`` block runs.

    Parameters
    ----------
    record_shapes : bool
        Keep the shapes of each op's array arguments (``key_averages(group_by_input_shape=True)``).
    profile_memory : bool
        Net bytes of numpy arrays allocated per op (``tracemalloc``; slows allocations).
    with_flops : bool
        Count the floating-point operations of convolutions and matrix products.
    enabled : bool
        False makes the context manager do nothing (like PyTorch's).

    One profile runs at a time. ``prof.key_averages()`` sums the events by
    name and pass, ``prof.events()`` lists them, ``prof.export_chrome_trace(path)``
    writes a trace for Perfetto (ui.perfetto.dev) or chrome://tracing.
    """

    def __init__(self, record_shapes=False, profile_memory=False, with_flops=False, enabled=True):
        self.record_shapes = bool(record_shapes)
        self.profile_memory = bool(profile_memory)
        self.with_flops = bool(with_flops)
        self.enabled = bool(enabled)
        self._events = []
        self._compiles = []
        self._listener = None
        self._started_tracemalloc = False
        self._t0 = 0
        self._t1 = None
        self._pid = os.getpid()

    # ---------------------------------------------------------------- start / stop
    def __enter__(self):
        if self.enabled:
            self.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.stop()
        return False

    def start(self):
        global _active
        if _active is not None:
            raise RuntimeError("profile: another profiler is already running; stop it first (profiles do not nest)")
        if self.profile_memory:
            import tracemalloc
            if not tracemalloc.is_tracing():
                tracemalloc.start()
                self._started_tracemalloc = True
        self._install_compile_listener()
        self._t0 = _now()
        _active = self
        _hooks.add_observer(self, ops=True, nodes=True)

    def stop(self):
        global _active
        _hooks.remove_observer(self)
        _active = None
        self._t1 = _now()
        if self._listener is not None:
            from numba.core import event
            event.unregister("numba:compiler_lock", self._listener)
            self._listener = None
        if self._started_tracemalloc:
            import tracemalloc
            tracemalloc.stop()
            self._started_tracemalloc = False

    def _install_compile_listener(self):
        """Listen to Numba's compiler lock, which compiling or loading a kernel from the cache holds."""
        try:
            from numba.core import event
        except ImportError:  # pragma: no cover - numba is a dependency
            return
        prof = self

        class _CompileListener(event.Listener):
            def on_start(self, ev):
                st = _thread_state()
                if st.lock_depth == 0:
                    st.lock_start = _now()
                st.lock_depth += 1

            def on_end(self, ev):
                st = _thread_state()
                st.lock_depth -= 1
                if st.lock_depth == 0:
                    t1 = _now()
                    st.compile_ns += t1 - st.lock_start
                    e = FunctionEvent("Numba compile / cache load", "compile", "", threading.get_ident(),
                                      len(st.stack))
                    e.start, e.end = st.lock_start, t1
                    e.self_ns = e.compile_ns = e.self_compile_ns = t1 - st.lock_start
                    prof._compiles.append(e)

        self._listener = _CompileListener()
        event.register("numba:compiler_lock", self._listener)

    # ---------------------------------------------------------------- recording
    def _open(self, name, kind, phase):
        st = _thread_state()
        e = FunctionEvent(name, kind, phase, threading.get_ident(), len(st.stack))
        e.c0 = st.compile_ns
        if self.profile_memory:
            import tracemalloc
            e.m0 = tracemalloc.get_traced_memory()[0]
        st.stack.append(e)
        e.start = _now()
        return e

    def _close(self, e):
        t1 = _now()
        st = _thread_state()
        # pop e (and anything left open inside it by an exception)
        while st.stack:
            if st.stack.pop() is e:
                break
        e.end = t1
        total = t1 - e.start
        e.compile_ns = st.compile_ns - e.c0
        e.self_ns = total - e.child_ns
        e.self_compile_ns = e.compile_ns - e.child_compile
        if self.profile_memory:
            import tracemalloc
            e.cpu_memory_usage = tracemalloc.get_traced_memory()[0] - e.m0
            e.self_memory = e.cpu_memory_usage - e.child_memory
        if st.stack:
            parent = st.stack[-1]
            parent.child_ns += total
            parent.child_compile += e.compile_ns
            parent.child_memory += e.cpu_memory_usage
        self._events.append(e)

    def op_enter(self, cls, args, kwargs):
        st = _thread_state()
        e = self._open(cls.__name__, "op", "bwd" if st.bwd else "fwd")
        if self.record_shapes:
            e.input_shapes = _shapes(args)
        if self.with_flops:
            e._args = args  # until the op ends: its FLOPs need the output's shape
        return e

    def op_exit(self, e, out):
        self._close(e)
        if self.with_flops and out is not None:
            e.flops = _flops(e.name, e._args, out)
        e._args = None

    def node_enter(self, node):
        st = _thread_state()
        st.bwd += 1
        return self._open(node.name(), "node", "bwd")

    def node_exit(self, e):
        _thread_state().bwd -= 1
        self._close(e)

    # ---------------------------------------------------------------- results
    def events(self):
        """Every recorded event (ops, nodes, ranges, compiles) in the order they ended."""
        return EventList(self._events + self._compiles)

    def key_averages(self, group_by_input_shape=False):
        """Events summed by (name, pass) (and input shapes): an ``EventList`` of ``FunctionEventAvg``."""
        groups = {}
        for e in self._events:
            key = (e.name, e.phase, str(e.input_shapes) if group_by_input_shape else None)
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(e.name, e.phase, e.input_shapes if group_by_input_shape
                                                     else None)
            avg.add(e)
        total_ns = (self._t1 or _now()) - self._t0
        compile_ns = sum(c.end - c.start for c in self._compiles)
        return EventList(groups.values(), total_ns=total_ns, compile_ns=compile_ns,
                         with_flops=self.with_flops, with_memory=self.profile_memory,
                         with_shapes=group_by_input_shape)

    def table(self, **kwargs):
        return self.key_averages().table(**kwargs)

    def export_chrome_trace(self, path):
        """Write the events as Chrome trace JSON (open it in ui.perfetto.dev or chrome://tracing)."""
        cat = {"fwd": "forward", "bwd": "backward"}
        trace = []
        for e in self._events + self._compiles:
            item = {"name": e.name, "cat": cat.get(e.phase, "user" if e.kind == "user" else e.kind), "ph": "X",
                    "ts": (e.start - self._t0) / 1e3, "dur": (e.end - e.start) / 1e3, "pid": self._pid,
                    "tid": e.thread}
            args = {}
            if e.input_shapes is not None:
                args["Input Shapes"] = e.input_shapes
            if e.flops:
                args["flops"] = e.flops
            if self.profile_memory and e.kind != "compile":
                args["cpu_memory_usage"] = e.cpu_memory_usage
            if e.compile_ns and e.kind != "compile":
                args["numba compile (us)"] = e.compile_ns / 1e3
            if args:
                item["args"] = args
            trace.append(item)
        trace.sort(key=lambda t: (t["ts"], -t["dur"]))
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)
        return path


class record_function:
    """Mark a range of code (a context manager or a decorator); it shows as its own row and trace event.

    Outside a ``profile`` it costs one global lookup.
    """

    def __init__(self, name):
        self.name = str(name)
        self._event = None
        self._prof = None

    def __enter__(self):
        prof = _active
        if prof is not None:
            self._prof = prof
            self._event = prof._open(self.name, "user", "")
        return self

    def __exit__(self, *exc):
        if self._event is not None:
            self._prof._close(self._event)
            self._event = self._prof = None
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)

        return wrapper


# --------------------------------------------------------------------------- averages and the table

class FunctionEventAvg:
    """The events of one (name, pass[, input shapes]) summed; times in us, as in PyTorch."""

    def __init__(self, key, phase, input_shapes=None):
        self.key = key
        self.phase = phase
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.compile_time_total = 0.0
        self.flops = 0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0

    def add(self, e):
        self.count += 1
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total
        self.compile_time_total += e.self_compile_ns / 1e3
        self.flops += e.flops
        self.cpu_memory_usage += e.cpu_memory_usage
        self.self_cpu_memory_usage += e.self_memory

    @property
    def cpu_time(self):
        """Mean total time per call (us)."""
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg {self.key} ({self.phase or '-'}) calls={self.count} "
                f"self={self.self_cpu_time_total:.1f} us total={self.cpu_time_total:.1f} us>")


_SORT_KEYS = {
    "self_cpu_time_total": "self_cpu_time_total", "cpu_time_total": "cpu_time_total", "cpu_time": "cpu_time",
    "count": "count", "flops": "flops", "cpu_memory_usage": "cpu_memory_usage",
    "self_cpu_memory_usage": "self_cpu_memory_usage", "compile_time_total": "compile_time_total",
}


def _fmt_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _fmt_bytes(n):
    a = abs(n)
    for unit, size in (("Gb", 1 << 30), ("Mb", 1 << 20), ("Kb", 1 << 10)):
        if a >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} b"


def _fmt_flops(n):
    for unit, size in (("GFLOP", 1e9), ("MFLOP", 1e6), ("KFLOP", 1e3)):
        if n >= size:
            return f"{n / size:.3f} {unit}"
    return f"{n} FLOP"


class EventList(list):
    """A list of events (``profile.events()``) or of averages (``profile.key_averages()``)."""

    def __init__(self, items=(), total_ns=None, compile_ns=0, with_flops=False, with_memory=False,
                 with_shapes=False):
        super().__init__(items)
        self.total_ns = total_ns
        self.compile_ns = compile_ns
        self.with_flops = with_flops
        self.with_memory = with_memory
        self.with_shapes = with_shapes

    def table(self, sort_by=None, row_limit=100, max_name_column_width=40):
        """The rows as a text table, like PyTorch's.

        ``sort_by``: ``self_cpu_time_total``, ``cpu_time_total``, ``cpu_time``, ``count``,
        ``flops``, ``cpu_memory_usage``, ``self_cpu_memory_usage`` or ``compile_time_total``
        (largest first); None keeps the order of first appearance. ``row_limit``: at most
        this many rows (a negative value: all).
        """
        rows = [r for r in self if isinstance(r, FunctionEventAvg)]
        if sort_by is not None:
            attr = _SORT_KEYS.get(sort_by)
            if attr is None:
                raise ValueError(f"table: sort_by must be one of {', '.join(_SORT_KEYS)}, got {sort_by!r}")
            rows.sort(key=lambda r: getattr(r, attr), reverse=True)
        shown = rows if row_limit is None or row_limit < 0 else rows[:row_limit]
        self_total = sum(r.self_cpu_time_total for r in rows) or 1.0
        cols = ["Name", "Pass", "Self CPU %", "Self CPU", "CPU total", "CPU time avg", "Compile", "# of Calls"]
        if self.with_flops:
            cols.append("Total FLOPs")
        if self.with_memory:
            cols += ["CPU Mem", "Self CPU Mem"]
        if self.with_shapes:
            cols.append("Input Shapes")
        body = []
        for r in shown:
            name = r.key if len(r.key) <= max_name_column_width else r.key[:max_name_column_width - 3] + "..."
            line = [name, r.phase or "-", f"{100 * r.self_cpu_time_total / self_total:.2f}%",
                    _fmt_time(r.self_cpu_time_total), _fmt_time(r.cpu_time_total), _fmt_time(r.cpu_time),
                    _fmt_time(r.compile_time_total) if r.compile_time_total else "-", str(r.count)]
            if self.with_flops:
                line.append(_fmt_flops(r.flops) if r.flops else "-")
            if self.with_memory:
                line += [_fmt_bytes(r.cpu_memory_usage), _fmt_bytes(r.self_cpu_memory_usage)]
            if self.with_shapes:
                line.append(str(r.input_shapes))
            body.append(line)
        widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(cols)]
        sep = "-" * (sum(widths) + 2 * (len(cols) - 1))

        def fmt(cells):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        lines = [sep, fmt(cols), sep] + [fmt(b) for b in body] + [sep]
        lines.append(f"Self CPU time total: {_fmt_time(self_total / 1.0 if rows else 0.0)}")
        if self.compile_ns:
            lines.append(f"Numba compile / cache load (not in the times above): {_fmt_time(self.compile_ns / 1e3)}")
        if self.total_ns is not None:
            lines.append(f"Wall time inside the profiler: {_fmt_time(self.total_ns / 1e3)}")
        if len(shown) < len(rows):
            lines.append(f"({len(rows) - len(shown)} more rows; raise row_limit to see them)")
        return "\n".join(lines)

    def __str__(self):
        return self.table()
