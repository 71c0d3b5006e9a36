"""``save`` and ``load`` (``autograd_core.save``/``load``, also ``nn.save``/``nn.load``): checkpoints as
``.npz`` files, written atomically.

A checkpoint is any nest of dicts, lists and tuples holding Tensors, ndarrays,
numbers, strings, booleans and None: a model's ``state_dict()``, an
optimizer's, or a dict bundling both with the epoch. Arrays are stored as
``.npy`` members named by their path (``"conv1.weight"``, or
``"model/conv1.weight"`` inside a dict), so ``numpy.load`` reads them too; the
nesting and the other values are a JSON document in the member
``__structure__``. Nothing is pickled, so loading a file runs no code.

``save`` writes to a temporary file in the target's directory and renames it
over the target only when complete: a crash or an error midway leaves the old
checkpoint as it was. A file object (opened ``"wb"`` / ``"rb"``) works too.

A whole model or optimizer is refused: without pickle, an object is saved as
its state (``model.state_dict()``) and rebuilt by constructing it again and
loading that state. ``load``'s ``map_location`` is accepted for the CPU (the
only device here) and ``weights_only`` for any value: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .tensor import Tensor
from .creation import from_numpy
from .devices import check as _check_device

__all__ = ["save", "load"]

_STRUCTURE = "__structure__"
_FORMAT = "autograd-core checkpoint"
_VERSION = 1
_MARKERS = ("__tensor__", "__ndarray__", "__tuple__", "__dict__")


def _encode(obj, path, arrays):
    """``obj`` as JSON-able data, with its arrays moved into ``arrays`` (key -> ndarray)."""
    if isinstance(obj, (Tensor, np.ndarray)):
        arr = obj.data if isinstance(obj, Tensor) else obj
        if arr.dtype.hasobject:
            raise TypeError(f"save: the array at {'/'.join(path) or 'the top level'} has dtype object, "
                            "which cannot be saved without pickle")
        key = "/".join(path) or "array"
        if key == _STRUCTURE or key in arrays:
            n = 1
            while f"{key}#{n}" in arrays:
                n += 1
            key = f"{key}#{n}"
        arrays[key] = arr
        return {"__tensor__" if isinstance(obj, Tensor) else "__ndarray__": key}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k in _MARKERS for k in obj):
            return {k: _encode(v, path + [k], arrays) for k, v in obj.items()}
        return {"__dict__": [[_encode(k, path, {}), _encode(v, path + [str(k)], arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, path + [str(i)], arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, path + [str(i)], arrays) for i, v in enumerate(obj)]
    where = "/".join(path) or "the top level"
    if callable(getattr(obj, "state_dict", None)):
        raise TypeError(_whole_object_message(obj, where))
    raise TypeError(
        f"save: cannot save a {type(obj).__name__} (at {where}); checkpoints hold "
        "dicts, lists, tuples, Tensors, ndarrays, numbers, strings, booleans and None")


def _whole_object_message(obj, where):
    name = type(obj).__name__
    if hasattr(obj, "param_groups"):
        kind, var = "optimizer", "optimizer"
    elif hasattr(obj, "parameters") and hasattr(obj, "load_state_dict"):
        kind, var = "model", "model"
    else:
        kind, var = "object", "obj"
    return (f"save: cannot save a whole {name} (at {where}): checkpoints hold no pickled objects (loading a "
            f"file never runs code), so a {kind} is saved as its state_dict and rebuilt from it:\n"
            f"    save({var}.state_dict(), path)\n"
            f"    {var} = {name}(...)          # build it again, as the first time\n"
            f"    {var}.load_state_dict(load(path))")


def _decode(obj, arrays, where):
    if isinstance(obj, list):
        return [_decode(v, arrays, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (k, v), = obj.items()
        if k in ("__tensor__", "__ndarray__"):
            if v not in arrays:
                raise ValueError(f"load: {where} is damaged: the array {v!r} it refers to is missing")
            arr = arrays[v]
            return from_numpy(arr) if k == "__tensor__" else arr
        if k == "__tuple__":
            return tuple(_decode(x, arrays, where) for x in v)
        if k == "__dict__":
            return {_decode(a, arrays, where): _decode(b, arrays, where) for a, b in v}
    return {k: _decode(v, arrays, where) for k, v in obj.items()}


def _write_npz(f, arrays):
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, arr in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def save(obj, f):
    """Write ``obj`` (e.g. a ``state_dict``) to ``f`` as ``.npz``, atomically.

    Parameters
    ----------
    obj : dict, list, tuple, Tensor or ndarray (nested)
        Not a whole ``Module`` or optimizer: save its ``state_dict()``.
    f : str, os.PathLike or a binary file object
        A path is used exactly as given (no suffix is added, ``.pt`` is fine); its
        directory must exist.
    """
    arrays = {}
    root = _encode(obj, [], arrays)
    doc = json.dumps({"format": _FORMAT, "version": _VERSION, "root": root})
    arrays[_STRUCTURE] = np.frombuffer(doc.encode("utf-8"), dtype=np.uint8)
    if hasattr(f, "write"):
        _write_npz(f, arrays)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: the directory {directory!r} of {path!r} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _check_map_location(map_location):
    if map_location is None:
        return
    if isinstance(map_location, dict):
        for v in map_location.values():
            _check_device(v, "load(map_location=...)")
        return
    if callable(map_location):
        raise TypeError("load: map_location as a function is not supported: checkpoints here hold numpy arrays, "
                        "always on the CPU; leave map_location out or pass 'cpu'")
    _check_device(map_location, "load(map_location=...)")


def load(f, map_location=None, weights_only=None, mmap=None):
    """Read a checkpoint written by ``save`` (Tensors come back as Tensors, ndarrays as ndarrays).

    A plain ``.npz`` written by ``numpy.savez`` loads as a dict of Tensors.
    Nothing is pickled: a file cannot run code when loaded (so ``weights_only``
    changes nothing). ``map_location`` may be None, ``"cpu"``, ``device("cpu")``
    or a dict mapping to the CPU; anything else names a device this build lacks.
    """
    _check_map_location(map_location)
    if hasattr(f, "read"):
        path = getattr(f, "name", "<file object>")
    else:
        path = f = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no checkpoint at {path!r}")
    try:
        with np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise ValueError(f"load: {path!r} is not a readable .npz checkpoint ({type(e).__name__}: {e})") from e
    if _STRUCTURE not in arrays:
        return {k: from_numpy(v) for k, v in arrays.items()}
    try:
        doc = json.loads(arrays.pop(_STRUCTURE).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"load: {path!r} is damaged: its {_STRUCTURE} member is not valid JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or "root" not in doc:
        raise ValueError(f"load: {path!r} is not a checkpoint written by nn.save")
    if doc.get("version", 0) > _VERSION:
        raise ValueError(f"load: {path!r} has format version {doc['version']}; this version of autograd-core "
                         f"reads versions up to {_VERSION}")
    return _decode(doc["root"], arrays, repr(path))
