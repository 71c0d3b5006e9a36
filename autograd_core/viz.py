"""The graph as a picture: ``make_dot`` draws the backward graph of a tensor with Graphviz.

>>> import autograd_core as ag
>>> from autograd_core.viz import make_dot
>>> w = ag.randn(3, 2, requires_grad=True)
>>> x = ag.randn(4, 3)
>>> y = (x @ w).relu().sum()
>>> dot = make_dot(y, params={"w": w})      # a graphviz.Digraph
>>> print(dot.source)                        # doctest: +SKIP
>>> dot.render("graph", format="png")        # doctest: +SKIP  (needs Graphviz's `dot` program)

One box per node (``Function``): its name (``MatmulBackward``...), and the
shape and dtype of the tensor it made. Leaf tensors are blue boxes, named from
``params`` (``dict(model.named_parameters())``), with their shapes; the output
is green. Edges point the way gradients flow: from the output towards the
leaves. ``show_saved=True`` adds what each node keeps for backward (orange,
dashed edges); ``modules=model`` draws each module's nodes inside a box of
its own (see ``record_modules``).

Needs the ``graphviz`` Python package (``pip install "autograd-core[viz]"``)
to build the graph, and Graphviz's ``dot`` program to render it (Debian and
Ubuntu: ``apt-get install graphviz``; macOS: ``brew install graphviz``).
The walk over the graph is iterative: a chain of 100,000 ops is fine (its
rendering takes a while).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from . import _hooks
from .tensor import Tensor

__all__ = ["make_dot", "record_modules", "render"]

_INSTALL_DOT = ("Graphviz's `dot` program is not installed (or not on PATH): install it with "
                "`apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or from "
                "graphviz.org/download; make_dot builds the graph without it, rendering needs it")

# node -> qualified name of the innermost module that was running when the node was recorded
_node_module = weakref.WeakKeyDictionary()


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError(
            "autograd_core.viz needs the graphviz Python package: pip install \"autograd-core[viz]\" (or pip "
            "install graphviz). Rendering to PNG/SVG also needs Graphviz's dot program: apt-get install graphviz "
            "(Debian/Ubuntu), brew install graphviz (macOS).") from None
    return graphviz


def _digraph_class():
    graphviz = _graphviz()

    class Digraph(graphviz.Digraph):
        """A ``graphviz.Digraph`` whose rendering says how to install ``dot`` when it is missing."""

        def render(self, *args, **kwargs):
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise RuntimeError(f"render: {_INSTALL_DOT}") from e

        def pipe(self, *args, **kwargs):
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as e:
                raise RuntimeError(f"pipe: {_INSTALL_DOT}") from e

    return Digraph


def render(graph, filename, format="png", cleanup=True):
    """Render ``graph`` (from ``make_dot``) to ``filename.<format>``; returns the file's path."""
    return graph.render(filename, format=format, cleanup=cleanup)


# --------------------------------------------------------------------------- labels

def _shape_str(shape):
    return str(tuple(int(s) for s in shape))


_dtype_names = {}


def _dtype_str(dtype):
    name = _dtype_names.get(dtype)
    if name is None:  # (str(dtype) costs ~40 us: a 100k-node graph asks 100k times)
        name = _dtype_names[dtype] = str(np.dtype(dtype))
    return name


def _fmt_values(a, max_elements):
    a = np.asarray(a)
    if a.size > max_elements:
        return None
    if a.ndim == 0:
        return f"{a.item():.4g}"
    return np.array2string(a.ravel(), precision=4, separator=", ", max_line_width=60)


def _tensor_label(t, name, show_shapes, show_values, max_elements):
    lines = [name] if name else []
    if show_shapes or not name:
        lines.append(f"{_shape_str(t.shape)} {_dtype_str(t.dtype)}" if show_shapes else _shape_str(t.shape))
    if show_values:
        v = _fmt_values(t.data, max_elements)
        if v is not None:
            lines.append(f"data {v}")
        if t.grad is not None:
            g = _fmt_values(t.grad.data, max_elements)
            if g is not None:
                lines.append(f"grad {g}")
    return "\n".join(lines)


def _saved_items(node):
    """(label, tensor or None) for what a node keeps for backward: saved tensors and array attributes."""
    out = []
    saved = node.__dict__.get("_saved")
    if isinstance(saved, list):
        for i, item in enumerate(saved):
            t = item[0] if type(item) is tuple else item
            if isinstance(t, Tensor):
                out.append((f"saved {i}", t, t.shape, t.dtype))
            elif isinstance(getattr(t, "data", None), np.ndarray):  # a saved output (kept without its Tensor)
                out.append((f"saved {i}", None, t.data.shape, t.data.dtype))
    elif saved is not None and not isinstance(saved, list):
        out.append((f"saved: {saved!r}", None, None, None))
    for k, v in node.__dict__.items():
        if isinstance(v, np.ndarray) and v.ndim:
            out.append((f"ctx.{k}", None, v.shape, v.dtype))
    return out


# --------------------------------------------------------------------------- module scopes

class record_modules:
    """Remember which module was running when each node was recorded (``with record_modules(model): ...``).

    ``make_dot(..., modules=model)`` then draws each module's nodes in a box
    of its own, nested as the modules are. Without it, ``make_dot`` puts in a
    module's box only the nodes that take that module's parameters directly.
    Costs an observer call per op while the ``with`` block runs.
    """

    def __init__(self, model):
        self.model = model
        self._handles = []
        self._stack = []
        self._tid = None

    def __enter__(self):
        self._tid = threading.get_ident()
        names = {id(m): n for n, m in self.model.named_modules()}

        def pre(module, args, name=None):
            self._stack.append(names.get(id(module), ""))

        def post(module, args, out):
            if self._stack:
                self._stack.pop()

        for _, m in self.model.named_modules():
            self._handles.append(m.register_forward_pre_hook(pre))
            self._handles.append(m.register_forward_hook(post))
        _hooks.add_observer(self)
        return self

    def __exit__(self, *exc):
        _hooks.remove_observer(self)
        for h in self._handles:
            h.remove()
        self._handles = []
        self._stack = []
        return False

    def op_enter(self, cls, args, kwargs):
        return None

    def op_exit(self, token, out):
        if out is None or not self._stack or threading.get_ident() != self._tid:
            return
        for o in (out if type(out) is tuple else (out,)):
            gf = getattr(o, "grad_fn", None)
            if gf is not None:
                if gf not in _node_module:
                    _node_module[gf] = self._stack[-1]
                break


# --------------------------------------------------------------------------- make_dot

def make_dot(output, params=None, show_saved=False, show_shapes=True, modules=None, show_values=False,
             max_value_elements=8, graph_attr=None):
    """The backward graph of ``output`` as a ``graphviz.Digraph``.

    Parameters
    ----------
    output : Tensor or sequence of Tensors
        Drawn green; the graph is everything their gradients flow through.
    params : dict of name -> Tensor, optional
        Names for leaves (``dict(model.named_parameters())``) and, for
        intermediate tensors, names shown on the node that made them.
    show_saved : bool
        Add what each node keeps for backward (saved tensors, array attributes such as masks).
    show_shapes : bool
        Show shapes and dtypes.
    modules : nn.Module, optional
        Group the nodes of each submodule in a box (cluster), nested as the modules are.
        Run the forward pass inside ``record_modules(model)`` to place every node;
        otherwise only nodes that take a module's parameters are placed.
    show_values : bool
        On named tensors with at most ``max_value_elements`` elements, show their
        values and ``.grad`` (micrograd style; ``retain_grad()`` keeps intermediate ones).
    graph_attr : dict, optional
        Graphviz graph attributes (default: top-to-bottom, compact boxes).

    Returns
    -------
    graphviz.Digraph
        ``.source`` is the DOT text; ``.render(path, format="png")`` draws it.
    """
    outputs = (output,) if isinstance(output, Tensor) else tuple(output)
    for i, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"make_dot: output {i} must be a Tensor, got {type(o).__name__}")
    params = dict(params or {})
    for k, v in params.items():
        if not isinstance(v, Tensor):
            raise TypeError(f"make_dot: params[{k!r}] must be a Tensor, got {type(v).__name__}")
    leaf_names = {id(v): k for k, v in params.items() if v.grad_fn is None}
    inner_names = {(id(v.grad_fn), v._output_nr): (k, v) for k, v in params.items() if v.grad_fn is not None}

    Digraph = _digraph_class()
    attrs = {"rankdir": "TB", "nodesep": "0.25", "ranksep": "0.3"}
    attrs.update(graph_attr or {})
    dot = Digraph(graph_attr=attrs,
                  node_attr={"shape": "box", "style": "filled", "fillcolor": "lightgray", "fontsize": "10",
                             "fontname": "monospace", "height": "0.2"},
                  edge_attr={"arrowsize": "0.6"})

    # ---- walk (iteratively) from the outputs: nodes, leaves, edges
    out_meta = {}      # (id(node), output_nr) -> (shape, dtype), from the consumers' _in_meta
    nodes = {}         # id -> node, in discovery order
    leaves = {}        # id -> leaf tensor
    edges = []         # (from id, to id): gradient flows from -> to
    stack = []
    for o in outputs:
        if o.grad_fn is not None:
            out_meta[(id(o.grad_fn), o._output_nr)] = (o.shape, o.dtype)
            if id(o.grad_fn) not in nodes:
                nodes[id(o.grad_fn)] = o.grad_fn
                stack.append(o.grad_fn)
        elif o.requires_grad:
            leaves[id(o)] = o
    while stack:
        node = stack.pop()
        meta = getattr(node, "_in_meta", ())
        for i, e in enumerate(getattr(node, "_next", ())):
            if e is None:
                continue
            tgt, nr = e
            if nr < 0:
                leaves[id(tgt)] = tgt
                edges.append((id(node), id(tgt)))
                continue
            if i < len(meta) and meta[i] is not None:
                out_meta.setdefault((id(tgt), nr), meta[i])
            edges.append((id(node), id(tgt)))
            if id(tgt) not in nodes:
                nodes[id(tgt)] = tgt
                stack.append(tgt)

    # ---- labels
    def node_label(node):
        lines = [node.name()]
        n_out = getattr(node, "_n_out", 1)
        for k in range(n_out):
            named = inner_names.get((id(node), k))
            if named is not None:
                lines.insert(0, named[0])
            m = out_meta.get((id(node), k))
            if m is None and n_out > 1 and getattr(node, "_out_meta", None):
                m = node._out_meta[k]
            if show_shapes and m is not None:
                lines.append(f"{_shape_str(m[0])} {_dtype_str(m[1])}" if n_out == 1 else
                             f"out {k}: {_shape_str(m[0])} {_dtype_str(m[1])}")
            if show_values and named is not None:
                t = named[1]
                v = _fmt_values(t.data, max_value_elements)
                if v is not None:
                    lines.append(f"data {v}")
                if t.grad is not None:
                    g = _fmt_values(t.grad.data, max_value_elements)
                    if g is not None:
                        lines.append(f"grad {g}")
        return "\n".join(lines)

    # ---- module clusters
    scope = {}
    if modules is not None:
        owner = {}
        for mname, mod in modules.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                owner[id(p)] = mname
        for nid, node in nodes.items():
            s = _node_module.get(node)
            if s is None:  # not recorded: the module whose parameter the node takes directly
                for e in getattr(node, "_next", ()):
                    if e is not None and e[1] < 0 and id(e[0]) in owner:
                        s = owner[id(e[0])]
                        break
            if s:
                scope[nid] = s
        for lid in leaves:
            if lid in owner and owner[lid]:
                scope[lid] = owner[lid]

    stmts = []  # (scope or "", kind, id, label, attrs)
    for o in outputs:
        oid = f"out{id(o)}"
        stmts.append(("", oid, _tensor_label(o, "output", show_shapes, show_values, max_value_elements),
                      {"fillcolor": "darkolivegreen1"}))
    for nid, node in nodes.items():
        stmts.append((scope.get(nid, ""), str(nid), node_label(node), {}))
    for lid, t in leaves.items():
        name = leaf_names.get(lid, "")
        stmts.append((scope.get(lid, ""), str(lid), _tensor_label(t, name, show_shapes, show_values,
                                                                  max_value_elements), {"fillcolor": "lightblue"}))
    saved_edges = []
    if show_saved:
        for nid, node in nodes.items():
            for k, (label, t, shape, dtype) in enumerate(_saved_items(node)):
                if t is not None and id(t) in leaves:
                    saved_edges.append((str(nid), str(id(t))))
                    continue
                sid = f"s{nid}_{k}"
                text = label if shape is None else f"{label}\n{_shape_str(shape)} {_dtype_str(dtype)}"
                stmts.append((scope.get(nid, ""), sid, text, {"fillcolor": "orange"}))
                saved_edges.append((str(nid), sid))

    cluster_labels = {}
    if modules is not None:
        cluster_labels = {n: f"{n} ({type(m).__name__})" for n, m in modules.named_modules() if n}
    # (statements written directly: graphviz's node()/edge() cost ~60 us each, 13 s for a 100k-op chain)
    body = dot.body
    _emit(body, stmts, cluster_labels)
    for o in outputs:
        if o.grad_fn is not None:
            body.append(f"\tout{id(o)} -> {id(o.grad_fn)}\n")
        elif o.requires_grad:
            body.append(f"\tout{id(o)} -> {id(o)}\n")
    body.extend(f"\t{a} -> {b}\n" for a, b in edges)
    body.extend(f"\t{a} -> {b} [arrowhead=none style=dashed]\n" for a, b in saved_edges)
    return dot


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _node_stmt(nid, label, attrs, indent):
    extra = "".join(f" {k}={_quote(v)}" for k, v in attrs.items())
    return f"{indent}{nid} [label={_quote(label)}{extra}]\n"


def _emit(body, stmts, cluster_labels):
    """Add the node statements, each inside the nested clusters of its module path."""
    tree = {"": []}
    for s in stmts:
        scope = s[0]
        tree.setdefault(scope, []).append(s)
        # make sure every prefix exists, so nesting follows the module tree
        parts = scope.split(".") if scope else []
        for k in range(1, len(parts)):
            tree.setdefault(".".join(parts[:k]), [])
    children = {}
    for scope in tree:
        if scope:
            parent = scope.rsplit(".", 1)[0] if "." in scope else ""
            children.setdefault(parent, []).append(scope)

    def add(scope, depth):
        indent = "\t" * depth
        body.extend(_node_stmt(nid, label, attrs, indent) for _, nid, label, attrs in tree.get(scope, ()))
        for child in children.get(scope, ()):
            body.append(f"{indent}subgraph {_quote('cluster_' + child)} {{\n")
            body.append(f"{indent}\tlabel={_quote(cluster_labels.get(child, child))} style=\"rounded,dashed\" "
                        f"color=gray40 fontsize=10\n")
            add(child, depth + 1)
            body.append(f"{indent}}}\n")

    add("", 1)
