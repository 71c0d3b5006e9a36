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
checkpoint as it was. A save killed outright (SIGKILL, power loss) cannot
remove its temporary file, so the next save to the same path removes the
temporary files of that path whose process is gone (``_stale_temp_files``);
nothing else in the directory is touched. A file object (opened ``"wb"`` /
``"rb"``) works too.

``load`` reads every member's header before its data and checks the claimed
shape against the bytes the member holds, so a damaged or hostile file gets a
``ValueError`` naming the problem, never an attempt to allocate what its
header claims.

A whole model or optimizer is refused: without pickle, an object is saved as
its state (``model.state_dict()``) and rebuilt by constructing it again and
loading that state. ``load``'s ``map_location`` is accepted for the CPU (the
only device here) and ``weights_only`` for any value: nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import re
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


# Temporary files: ".<name>.<8 random characters>.<pid>.tmp" next to the target (mkstemp's random part is
# drawn from [a-z0-9_]). Files of the scheme before the pid was added (".<name>.<8 random>.tmp") count too.
_TMP_RANDOM = "[a-z0-9_]{8}"


def _temp_pattern(name):
    return re.compile(r"\." + re.escape(name) + r"\." + _TMP_RANDOM + r"(?:\.(\d+))?\.tmp")


def _process_alive(pid):
    if pid == os.getpid():
        return True  # maybe another thread of this process saving the same path right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def _stale_temp_files(path):
    """The temporary files of earlier saves to ``path`` whose writer is gone (killed mid-write).

    Only names of ``save``'s own scheme for this very file name match; a file
    whose writing process still runs (its pid is in the name) is left alone.
    """
    directory, name = os.path.split(os.path.abspath(path))
    pattern = _temp_pattern(name)
    stale = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return stale
    for entry in entries:
        m = pattern.fullmatch(entry)
        if m is None or (m.group(1) is not None and _process_alive(int(m.group(1)))):
            continue
        full = os.path.join(directory, entry)
        if os.path.isfile(full) and not os.path.islink(full):
            stale.append(full)
    return stale


def save(obj, f):
    """Write ``obj`` (e.g. a ``state_dict``) to ``f`` as ``.npz``, atomically.

    Parameters
    ----------
    obj : dict, list, tuple, Tensor or ndarray (nested)
        Not a whole ``Module`` or optimizer: save its ``state_dict()``.
    f : str, os.PathLike or a binary file object
        A path is used exactly as given (no suffix is added, ``.pt`` is fine); its
        directory must exist. The data go to a hidden temporary file next to it,
        renamed over it once complete; temporary files that earlier saves to the
        same path left behind when they were killed are removed first.
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
    for stale in _stale_temp_files(path):
        try:
            os.unlink(stale)
        except OSError:
            pass  # gone already, or not ours to remove: never a reason to fail the save
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=f".{os.getpid()}.tmp",
                               dir=directory)
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


def _damaged(path, what):
    return ValueError(f"load: {path!r} is damaged: {what}")


def _read_member(zf, info, path, total):
    """One ``.npy`` member as an ndarray, its header checked against the bytes it holds before reading data."""
    fmt = np.lib.format
    with zf.open(info) as f:
        try:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, OSError, EOFError, SyntaxError, TypeError) as e:
            raise _damaged(path, f"the header of its member {info.filename!r} is not a valid .npy header ({e})") \
                from None
        if dtype.hasobject:
            raise _damaged(path, f"its member {info.filename!r} holds Python objects (dtype {dtype}), which "
                                 "checkpoints never contain and which would need pickle to load")
        count = 1
        for s in shape:
            count *= int(s)
        need = count * dtype.itemsize
        have = info.file_size - f.tell()
        if need != have:
            raise _damaged(path, f"the header of its member {info.filename!r} claims shape {tuple(shape)} of "
                                 f"{dtype} ({need:,} bytes), but the member holds {have:,} bytes of data")
    if info.compress_type == zipfile.ZIP_STORED and total is not None and info.file_size > total:
        raise _damaged(path, f"its member {info.filename!r} claims {info.file_size:,} bytes, more than the file holds")
    with zf.open(info) as f:  # the header is sound: read it again with the data, into one array
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise _damaged(path, f"its member {info.filename!r} cannot be read ({e})") from None


def _read_npz(f, path):
    """Every member of the ``.npz`` ``f`` (a path or a binary file object), each header checked first."""
    if hasattr(f, "read"):
        start = f.tell() if f.seekable() else None
        head = f.read(6)
        if start is not None:
            f.seek(start)
            total = f.seek(0, os.SEEK_END) - start
            f.seek(start)
        else:
            total = None
    else:
        with open(f, "rb") as fh:
            head = fh.read(6)
        total = os.path.getsize(f)
    if head == b"\x93NUMPY":
        raise ValueError(f"load: {path!r} is a .npy file (a single array, from numpy.save), not an .npz checkpoint; "
                         "read it with numpy.load, or write checkpoints with save")
    try:
        with zipfile.ZipFile(f) as zf:
            arrays = {}
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    raise _damaged(path, f"its member {info.filename!r} is not a .npy array")
                arrays[info.filename[:-4]] = _read_member(zf, info, path, total)
            return arrays
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as e:
        raise ValueError(f"load: {path!r} is not a readable .npz checkpoint ({type(e).__name__}: {e})") from e


def load(f, map_location=None, weights_only=None, mmap=None):
    """Read a checkpoint written by ``save`` (Tensors come back as Tensors, ndarrays as ndarrays).

    A plain ``.npz`` written by ``numpy.savez`` loads as a dict of Tensors.
    Nothing is pickled: a file cannot run code when loaded (so ``weights_only``
    changes nothing). ``map_location`` may be None, ``"cpu"``, ``device("cpu")``
    or a dict mapping to the CPU; anything else names a device this build lacks.
    A file that is not such a checkpoint, or is damaged, raises ``ValueError``
    saying why.
    """
    _check_map_location(map_location)
    if hasattr(f, "read"):
        path = getattr(f, "name", "<file object>")
    else:
        path = f = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no checkpoint at {path!r}")
        if os.path.isdir(path):
            raise IsADirectoryError(f"load: {path!r} is a directory, not a checkpoint file")
    arrays = _read_npz(f, path)
    if _STRUCTURE not in arrays:
        return {k: from_numpy(v) for k, v in arrays.items()}
    raw = arrays.pop(_STRUCTURE)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _damaged(path, f"its {_STRUCTURE} member is a {raw.dtype} array of shape {raw.shape}, not the "
                             "bytes of a JSON document")
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise _damaged(path, f"its {_STRUCTURE} member is not valid JSON ({type(e).__name__}: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT or "root" not in doc:
        raise ValueError(f"load: {path!r} is not a checkpoint written by nn.save")
    version = doc.get("version", 0)
    if not isinstance(version, int):
        raise _damaged(path, f"its format version is {version!r}, not a number")
    if version > _VERSION:
        raise ValueError(f"load: {path!r} has format version {version}; this version of autograd-core "
                         f"reads versions up to {_VERSION}")
    try:
        return _decode(doc["root"], arrays, repr(path))
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as e:
        if isinstance(e, ValueError) and str(e).startswith("load:"):
            raise
        raise _damaged(path, f"its {_STRUCTURE} member does not describe a checkpoint "
                             f"({type(e).__name__}: {e})") from None
