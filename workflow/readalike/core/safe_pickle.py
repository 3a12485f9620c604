"""Loading released pickles without executing arbitrary code.

The papers' authors released data as Python pickles. Unpickling runs whatever callable a
pickle names, so we never use :func:`pickle.load` on them. :func:`load_pickle` admits only
what the released files hold: NumPy arrays (rebuilt through ``numpy.core.multiarray.
_reconstruct``, ``numpy.ndarray`` and ``numpy.dtype``), NumPy scalars, and the plain
containers and values that pickle encodes without naming any global (list, tuple, dict, str,
bytes, int, float, bool, None). Anything else is refused with an error naming the file and
the global it asked for; arrays of dtype ``object`` are refused after loading, since they
could smuggle arbitrary Python objects past the type check. Pickle's memo lets a 20-byte
file build a container that holds itself (``d = {'ID': d}``); such cycles, nesting deeper
than :data:`MAX_DEPTH` and more than :data:`MAX_ITEMS` contained items are refused too, so
that no later walk over the data can loop forever.
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
    def __init__(
        self, file: io.BufferedIOBase, source: str, allowed: frozenset[tuple[str, str]]
    ) -> None:
        super().__init__(file)
        self._source = source
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"{self._source}: refused to unpickle {module}.{name}; only NumPy arrays, NumPy "
            "scalars, strings, numbers, lists and dicts are allowed"
        )


#: Deepest nesting of lists, tuples and dicts accepted; released files nest two or three.
MAX_DEPTH = 64
#: Most container items (list/tuple entries, dict keys and values) accepted in one pickle.
MAX_ITEMS = 10_000_000


def _check_contents(obj: Any, source: str) -> None:
    """Refuse object arrays, cycles, and nesting or sizes beyond the bounds.

    A depth-first walk that visits every container once (shared references are fine:
    pickle's memo makes them legitimately) and keeps the containers on the current path;
    meeting one of those again is a cycle.
    """
    on_path: set[int] = set()
    done: set[int] = set()
    items = 0
    # (object, depth, leaving): ``leaving`` marks the end of a container's subtree
    stack: list[tuple[Any, int, bool]] = [(obj, 0, False)]
    while stack:
        item, depth, leaving = stack.pop()
        if leaving:
            on_path.discard(id(item))
            done.add(id(item))
            continue
        if isinstance(item, np.ndarray):
            if item.dtype.hasobject:
                raise UnsafePickleError(f"{source}: refused an array of dtype object")
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        key = id(item)
        if key in on_path:
            raise UnsafePickleError(
                f"{source}: refused a self-referencing {type(item).__name__} (a container that "
                "holds itself); released data holds none"
            )
        if key in done:
            continue
        if depth >= MAX_DEPTH:
            raise UnsafePickleError(
                f"{source}: refused containers nested deeper than {MAX_DEPTH} levels"
            )
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else list(item)
        items += len(children)
        if items > MAX_ITEMS:
            raise UnsafePickleError(
                f"{source}: refused more than {MAX_ITEMS} items in lists, tuples and dicts"
            )
        on_path.add(key)
        stack.append((item, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


def loads_pickle(
    data: bytes, source: str = "<bytes>", allowed: frozenset[tuple[str, str]] | None = None
) -> Any:
    """Unpickle ``data`` under the allow-list; ``source`` names it in errors.

    ``allowed`` narrows the (module, name) globals a caller's files may name (default
    :data:`ALLOWED_GLOBALS`); it may only narrow it, never widen it.
    """
    allowed = ALLOWED_GLOBALS if allowed is None else frozenset(allowed)
    if not allowed <= ALLOWED_GLOBALS:
        extra = sorted(f"{m}.{n}" for m, n in allowed - ALLOWED_GLOBALS)
        raise ValueError(f"{source}: allow-list may only narrow ALLOWED_GLOBALS, not add {extra}")
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), source, allowed).load()
    except UnsafePickleError:
        raise
    except Exception as err:  # truncated or corrupted stream: one clear error
        raise ValueError(f"{source}: not a readable pickle ({type(err).__name__}: {err})") from None
    _check_contents(obj, source)
    return obj


def load_pickle(path: str | os.PathLike, allowed: frozenset[tuple[str, str]] | None = None) -> Any:
    """Unpickle a file under the allow-list of :data:`ALLOWED_GLOBALS` (or ``allowed``)."""
    path = Path(path)
    return loads_pickle(path.read_bytes(), str(path), allowed)
