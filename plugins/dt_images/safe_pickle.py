"""A restricted unpickler for CIFAR's python batches, which are untrusted input.

A pickle may name any importable callable (``os.system``, ``subprocess.Popen`` ...) and have the
unpickler call it. This one accepts plain containers, str, bytes and numbers, which need no
global at all, plus the handful of names a pickled numpy array of a plain numeric dtype refers
to. Those names are never resolved to the real numpy functions: each maps to an inert
stand-in that can only rebuild an array of numbers from raw bytes. Any other global is refused
before anything is called.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

_NUMERIC_KINDS = set("biuf")  # bool, signed, unsigned, float: never object arrays


class UnsafePickleError(ValueError):
    """The pickle names a global outside the allowed set, or misuses an allowed one."""


class _DtypeStub:
    """Stands for ``numpy.dtype(code, align, copy)``; BUILD gives its byte order."""

    def __init__(self, code: Any, *args: Any) -> None:
        if isinstance(code, bytes):
            code = code.decode("ascii", "replace")
        if not isinstance(code, str) or len(code) > 8:
            raise UnsafePickleError(f"dtype {code!r} is not a plain numeric type")
        self.code = code
        self.order = "|"

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) >= 2 and isinstance(state[1], (str, bytes)):
            order = state[1].decode() if isinstance(state[1], bytes) else state[1]
            if order in ("<", ">", "|", "="):
                self.order = order
        if isinstance(state, tuple) and len(state) >= 3 and state[2] is not None:
            raise UnsafePickleError("structured dtypes are not accepted")

    def dtype(self) -> np.dtype:
        try:
            dt = np.dtype(self.code).newbyteorder(self.order if self.order != "|" else "=")
        except TypeError:
            raise UnsafePickleError(f"dtype {self.code!r} is not a plain numeric type") from None
        if dt.kind not in _NUMERIC_KINDS:
            raise UnsafePickleError(f"dtype {self.code!r} is not a plain numeric type")
        return dt


class _NdarrayClass:
    """Stands for the ``numpy.ndarray`` class object passed to ``_reconstruct``."""


class _ArrayStub:
    """Stands for an ndarray under construction; BUILD's state holds shape, dtype and bytes."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not (isinstance(state, tuple) and len(state) == 5):
            raise UnsafePickleError("unexpected ndarray state")
        _version, shape, dtype, fortran, raw = state
        self.array = _array_from(raw, dtype, shape, "F" if fortran else "C")


def _array_from(raw: Any, dtype: Any, shape: Any, order: str) -> np.ndarray:
    if not isinstance(dtype, _DtypeStub):
        raise UnsafePickleError("ndarray with an unexpected dtype")
    if isinstance(raw, str):  # a Python 2 str read with encoding='latin1'
        raw = raw.encode("latin1")
    if not isinstance(raw, (bytes, bytearray)):
        raise UnsafePickleError("ndarray data is not raw bytes (object arrays are refused)")
    if isinstance(shape, int):
        shape = (shape,)
    if not (isinstance(shape, (tuple, list)) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise UnsafePickleError("ndarray with an invalid shape")
    dt = dtype.dtype()
    count = 1
    for n in shape:
        count *= n
    if count * dt.itemsize != len(raw):
        raise UnsafePickleError("ndarray data does not match its shape")
    return np.frombuffer(bytes(raw), dtype=dt).reshape(tuple(shape), order=order).copy()


def _reconstruct(cls: Any, shape: Any, dtype_code: Any) -> _ArrayStub:
    if cls is not _NdarrayClass:
        raise UnsafePickleError("_reconstruct of something other than an ndarray")
    return _ArrayStub()


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: str = "C") -> np.ndarray:
    """Protocol-5 arrays: ``numpy.core.numeric._frombuffer(bytes, dtype, shape, order)``."""
    if order not in ("C", "F"):
        raise UnsafePickleError("invalid array order")
    return _array_from(buf, dtype, shape, order)


def _codecs_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """Protocol 2 under Python 3 writes bytes as ``_codecs.encode(str, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError("_codecs.encode used for something other than bytes")
    return text.encode("latin1")


_ALLOWED: dict[tuple[str, str], Any] = {("_codecs", "encode"): _codecs_encode}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _reconstruct
for _mod in ("numpy.core.numeric", "numpy._core.numeric"):
    _ALLOWED[(_mod, "_frombuffer")] = _frombuffer
for _mod in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "ndarray")] = _NdarrayClass
    _ALLOWED[(_mod, "dtype")] = _DtypeStub


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"the pickle names {module}.{name}, which is not allowed "
                                    f"(only containers, numbers, strings, bytes and numeric "
                                    f"arrays are)") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("persistent ids are not allowed")


#: objects _finish may visit: a CIFAR batch has about 20,000; a hostile pickle whose levels
#: share one reference would otherwise be walked 2^depth times
MAX_OBJECTS = 2_000_000


def _finish(obj: Any) -> Any:
    """Replace array stand-ins by their arrays, everywhere in plain containers. Each object is
    converted once (shared references stay shared) and the total work is bounded."""
    memo: dict[int, Any] = {}
    visits = 0

    def walk(o: Any, depth: int) -> Any:
        nonlocal visits
        visits += 1
        if visits > MAX_OBJECTS:
            raise UnsafePickleError(f"more than {MAX_OBJECTS:,} objects: not a data set")
        if depth > 50:
            raise UnsafePickleError("nesting too deep")
        if id(o) in memo:
            return memo[id(o)]
        if isinstance(o, _ArrayStub):
            if o.array is None:
                raise UnsafePickleError("incomplete ndarray")
            out = o.array
        elif isinstance(o, (_DtypeStub, _NdarrayClass)) or o is _NdarrayClass:
            raise UnsafePickleError("a bare dtype or class object is not data")
        elif isinstance(o, dict):
            out = {walk(k, depth + 1): walk(v, depth + 1) for k, v in o.items()}
        elif isinstance(o, list):
            out = [walk(v, depth + 1) for v in o]
        elif isinstance(o, tuple):
            out = tuple(walk(v, depth + 1) for v in o)
        else:
            return o
        memo[id(o)] = out
        return out

    return walk(obj, 0)


#: numbers a pickled data set may hold in one array converted from nested lists (a CIFAR batch
#: holds 10,000 x 3,072 = 30.7 million); more is refused before numpy allocates anything
MAX_ITEMS = 50_000_000


def _has_ndmax() -> bool:
    try:
        np.array(0, ndmax=1)
    except TypeError:
        return False
    return True


_HAS_NDMAX = _has_ndmax()


def bounded_array(value: Any, ndim: int, what: str, max_items: int = MAX_ITEMS) -> np.ndarray:
    """``value`` (an array or nested lists/tuples from :func:`safe_load`) as an ``ndim``-
    dimensional numeric array, with its shape, size and nesting checked *before* numpy converts
    it.

    ``np.asarray`` on untrusted nested lists is unbounded work: a list whose levels share one
    reference (48 levels, a few hundred bytes of pickle) stands for 2^48 paths, and numpy walks
    every one. Here the shape is read from the first element at each level (never deeper than
    ``ndim``), its size bounded, and every container above the numbers checked to have that
    length (work proportional to the size): numpy then sees a regular array and nothing more.
    """
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (list, tuple)):
        shape: list[int] = []
        level: Any = value
        while isinstance(level, (list, tuple)):
            if len(shape) == ndim:
                raise UnsafePickleError(f"{what} is nested deeper than {ndim} level(s)")
            shape.append(len(level))
            if not level:
                break
            level = level[0]
        count = 1
        for n in shape:
            count *= n
        if count > max_items:
            raise UnsafePickleError(f"{what} would hold {count:,} numbers (at most "
                                    f"{max_items:,} are read)")
        if len(shape) == ndim:
            rows: list[Any] = [value]
            for depth, n in enumerate(shape):
                for row in rows:
                    if not isinstance(row, (list, tuple)) or len(row) != n:
                        raise UnsafePickleError(f"{what} is not a regular array (ragged at "
                                                f"level {depth + 1})")
                if depth < ndim - 1:
                    rows = [item for row in rows for item in row]
        try:  # numpy >= 2.3 also stops at ndim itself; before, the first number caps its walk
            arr = np.array(value, ndmax=ndim) if _HAS_NDMAX else np.asarray(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise UnsafePickleError(f"{what} is not an array of numbers ({exc})") from None
    else:
        raise UnsafePickleError(f"{what} is a {type(value).__name__}, not an array")
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(f"{what} holds {arr.dtype} values, not numbers")
    if arr.ndim != ndim:
        raise UnsafePickleError(f"{what} has {arr.ndim} dimension(s), expected {ndim}")
    if arr.size > max_items:
        raise UnsafePickleError(f"{what} holds {arr.size:,} numbers (at most {max_items:,} "
                                "are read)")
    return arr


def safe_load(data: bytes) -> Any:
    """Unpickle ``data`` allowing only plain data and numeric numpy arrays.

    Raises :class:`UnsafePickleError` for anything else, without calling it.
    """
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged pickle is just bad input
        raise UnsafePickleError(f"not a readable pickle ({type(exc).__name__}: {exc})") from None
    return _finish(obj)
