"""Integer object ids kept as integers: ``pool.ids`` of a Dask pool whose id column is an integer.

An object id is text (:mod:`core.ids`), and an in-memory pool holds one
Python ``str`` per row (about 60 bytes with its pointer, and an index of
them as much again). A pool on Dask is meant for catalogues of tens of millions of
rows, where that alone is gigabytes in the server. With an integer id column,
:class:`IntegerIds` keeps the int64 values (8 bytes a row) and makes the text
of the rows asked for; looking rows up by id text is a binary search over the
sorted values (no copy when the files are in id order, as catalogues usually
are), not a hash table of strings.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..ids import id_text

#: Ids made into text at once when every id is asked for (iteration, fingerprints).
BLOCK = 1_000_000


class IntegerIds:
    """A read-only, 1-d sequence of id texts backed by int64 values.

    Indexing works as on the object array of ``str`` an in-memory pool holds:
    ``ids[row]`` is a ``str``, ``ids[rows]`` (an index array, a mask or a
    slice) an object array of ``str``. ``numpy.asarray(ids)`` makes every id's
    text (the memory this class saves): callers that look rows up use
    :meth:`rows_of` instead.

    Parameters
    ----------
    values : array of int
        The id column, in pool row order.
    """

    ndim = 1
    dtype = np.dtype(object)

    def __init__(self, values):
        self.values = np.ascontiguousarray(values, dtype=np.int64)
        self.shape = (len(self.values),)
        if len(self.values) < 2 or bool((self.values[1:] > self.values[:-1]).all()):
            self._order = None  # already sorted (and so unique): the values are their own lookup
            self._sorted = self.values
        else:
            self._order = np.argsort(self.values, kind="stable")
            self._sorted = self.values[self._order]

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"IntegerIds(n={len(self)})"

    @property
    def nbytes(self) -> int:
        order = 0 if self._order is None else self._order.nbytes + self._sorted.nbytes
        return self.values.nbytes + order

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return str(int(self.values[key]))
        picked = self.values[key]
        if np.ndim(picked) == 0:
            return str(int(picked))
        return picked.astype(str).astype(object)

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self), BLOCK):
            yield from self[start:start + BLOCK]

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def duplicate(self) -> str | None:
        """The text of an id that appears more than once, or None."""
        if self._order is None:
            return None
        same = np.flatnonzero(self._sorted[1:] == self._sorted[:-1])
        return str(int(self._sorted[same[0]])) if len(same) else None

    def rows_of(self, object_ids: Iterable) -> np.ndarray:
        """The row of each id (compared as text, as :mod:`core.ids` says), -1 where the pool has none."""
        texts = [id_text(i) for i in object_ids]
        numbers = np.zeros(len(texts), dtype=np.int64)
        valid = np.zeros(len(texts), dtype=bool)
        for i, text in enumerate(texts):
            try:
                number = int(text)
            except ValueError:
                continue
            # '007', ' 7', '+7' and '7_0' parse but are no id's text (int ids are their decimal digits).
            if str(number) == text and -2**63 <= number < 2**63:
                numbers[i], valid[i] = number, True
        if not len(self._sorted):
            return np.full(len(texts), -1, dtype=np.intp)
        at = np.minimum(np.searchsorted(self._sorted, numbers), len(self._sorted) - 1)
        found = valid & (self._sorted[at] == numbers)
        rows = at if self._order is None else self._order[at]
        return np.where(found, rows, -1).astype(np.intp)

    def sorted_text(self) -> Iterator[list[bytes]]:
        """Every id's text as bytes, in text order, in blocks: what a store fingerprints, a block at a time."""
        if not len(self.values):
            return
        width = max(len(str(int(self.values.min()))), len(str(int(self.values.max()))))
        # Fixed-width bytes sort as Python sorts the texts (ASCII digits and '-'; a shorter text
        # that is a prefix of a longer one first, its padding being NUL).
        text = self.values.astype(f"S{width}")
        text.sort()
        for start in range(0, len(text), BLOCK):
            yield text[start:start + BLOCK].tolist()
