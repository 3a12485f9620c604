"""Loading released pickles without executing arbitrary code.

The papers' authors released data as Python pickles. Unpickling runs whatever callable a
pickle names, so we never use :func:`pickle.load` on them. :func:`load_pickle` admits only
what the released files hold: NumPy arrays (rebuilt through ``numpy.core.multiarray.
_reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``), NumPy scalars, and the plain
containers and values that pickle encodes without naming any global (list, tuple, dict, str,
bytes, int, float, bool, None). Anything else is refused with an error naming the file and
the global it asked for; arrays of dtype ``object`` are refused after loading, since they
could smuggle arbitrary Python objects past the type check.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

#: (module, name) pairs a released pickle may name; both NumPy 1 and NumPy 2 module paths.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        # protocol-5 pickles rebuild arrays from a raw buffer
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        # protocol-2 pickles encode an array's raw bytes through _codecs.encode(str, 'latin1')
        ("_codecs", "encode"),
    }
)


class UnsafePickleError(ValueError):
    """A pickle asked for a global outside :data:`ALLOWED_GLOBALS`."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self._source}: refused to unpickle {module}.{name}; only NumPy arrays, NumPy "
            "scalars, strings, numbers, lists and dicts are allowed"
        )


def _check_no_object_arrays(obj: Any, source: str) -> None:
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                raise UnsafePickleError(f"{source}: refused an array of dtype object")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def loads_pickle(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` under the allow-list; ``source`` names it in errors."""
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except Exception as err:  # truncated or corrupted stream: one clear error
        raise ValueError(f"{source}: not a readable pickle ({type(err).__name__}: {err})") from None
    _check_no_object_arrays(obj, source)
    return obj


def load_pickle(path: str | os.PathLike) -> Any:
    """Unpickle a file under the allow-list of :data:`ALLOWED_GLOBALS`."""
    path = Path(path)
    return loads_pickle(path.read_bytes(), str(path))
