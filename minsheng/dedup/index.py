"""Compact numpy storage for the detector: growable vectors, ragged rows, MinHash and banded LSH.

Why not ``datasketch.MinHashLSH``: at a million appeals it keeps a Python dict of lists per band
(hundreds of bytes per record per band) and hashes shingles one by one in Python. Measured on this
project's scale benchmark, the numpy version below builds in a fraction of the time and keeps
12 bytes per record per band.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_U64 = np.uint64


class Grow:
    """An append-only numpy vector with amortised doubling (a list of Python ints costs ~36 B per
    element, this costs the dtype's size)."""

    __slots__ = ("_buf", "_n")

    def __init__(self, dtype, data: np.ndarray | None = None):
        if data is None or len(data) == 0:
            self._buf = np.zeros(16, dtype=dtype)
            self._n = 0
        else:
            self._buf = np.array(data, dtype=dtype)
            self._n = len(data)

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need > len(self._buf):
            new = np.zeros(max(need, 2 * len(self._buf)), dtype=self._buf.dtype)
            new[: self._n] = self._buf[: self._n]
            self._buf = new

    def append(self, value) -> None:
        self._reserve(1)
        self._buf[self._n] = value
        self._n += 1

    def extend(self, values: np.ndarray) -> None:
        self._reserve(len(values))
        self._buf[self._n : self._n + len(values)] = values
        self._n += len(values)

    def view(self) -> np.ndarray:
        return self._buf[: self._n]

    def __len__(self) -> int:
        return self._n


class Ragged:
    """Variable-length rows in one flat array plus offsets (CSR)."""

    __slots__ = ("offsets", "values")

    def __init__(self, dtype, values: np.ndarray | None = None, offsets: np.ndarray | None = None):
        self.values = Grow(dtype, values)
        self.offsets = Grow(np.int64, offsets if offsets is not None else np.zeros(1, dtype=np.int64))

    def append(self, row: np.ndarray) -> None:
        self.values.extend(row)
        self.offsets.append(len(self.values))

    def row(self, i: int) -> np.ndarray:
        off = self.offsets.view()
        return self.values.view()[off[i] : off[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1


class TextStore:
    """Many strings in one UTF-16 buffer: 2 bytes per Chinese character instead of a Python object
    per text. The detector re-derives a candidate's bigrams from its text when scoring it."""

    __slots__ = ("_rows",)

    def __init__(self, values: np.ndarray | None = None, offsets: np.ndarray | None = None):
        self._rows = Ragged(np.uint16, values, offsets)

    def append(self, text: str) -> None:
        self._rows.append(np.frombuffer(text.encode("utf-16-le"), dtype=np.uint16))

    def __getitem__(self, i: int) -> str:
        return self._rows.row(i).tobytes().decode("utf-16-le")

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self._rows.values.view(), self._rows.offsets.view()

    def __len__(self) -> int:
        return len(self._rows)


class MinHasher:
    """MinHash over 32-bit shingle hashes, vectorised over shingles and over records.

    Permutation i is ``x → a_i·x + b_i (mod 2³²)`` with odd ``a_i``: a true permutation of the 32-bit
    values, computed in uint32 so that a batch of a thousand appeals (150k shingles × 96
    permutations) stays within one pass of cheap arithmetic. Band keys combine ``rows`` consecutive
    minima into one uint64.
    """

    def __init__(self, bands: int, rows: int, seed: int):
        rng = np.random.default_rng(seed)
        self.bands, self.rows = bands, rows
        perms = bands * rows
        self.a = (rng.integers(0, 2**32, size=perms, dtype=np.uint64) | _U64(1)).astype(np.uint32)
        self.b = rng.integers(0, 2**32, size=perms, dtype=np.uint64).astype(np.uint32)
        self.mix = rng.integers(1, 2**63, size=rows, dtype=np.uint64) | _U64(1)

    def band_keys(self, shingles: np.ndarray) -> np.ndarray:
        """Band keys of one non-empty set of uint32 shingle hashes."""
        sig = (shingles[:, None] * self.a[None, :] + self.b[None, :]).min(axis=0)
        return self._combine(sig[None, :])[0]

    def band_keys_many(self, rows: Sequence[np.ndarray]) -> np.ndarray:
        """Band keys of many non-empty uint32 shingle sets at once: shape (len(rows), bands)."""
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        flat = np.concatenate(rows)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        hashed = flat[:, None] * self.a[None, :]
        hashed += self.b[None, :]
        return self._combine(np.minimum.reduceat(hashed, starts, axis=0))

    def _combine(self, sig: np.ndarray) -> np.ndarray:
        sig = sig.astype(_U64).reshape(len(sig), self.bands, self.rows)
        return (sig * self.mix[None, None, :]).sum(axis=2, dtype=_U64)


class BandIndex:
    """Banded MinHash-LSH over numpy arrays.

    Per band, a frozen part (keys sorted, ids aligned) answers with ``searchsorted``; recent
    additions sit in a pending block answered with one vectorised comparison and are merged into
    the frozen arrays when they reach an eighth of them, so building is O(n log n) overall.
    """

    def __init__(self, bands: int, cap: int):
        self.bands, self.cap = bands, cap
        self.keys = [np.zeros(0, dtype=_U64) for _ in range(bands)]
        self.ids = [np.zeros(0, dtype=np.int32) for _ in range(bands)]
        self._pend_keys = Grow(_U64)
        self._pend_ids = Grow(np.int32)

    def add(self, rid: int, band_keys: np.ndarray) -> None:
        self._pend_keys.extend(band_keys)
        self._pend_ids.append(rid)
        if len(self._pend_ids) >= max(2048, len(self.keys[0]) // 8):
            self.flush()

    def add_many(self, rids: np.ndarray, band_keys: np.ndarray) -> None:
        """Bulk insert: ``band_keys`` has shape (len(rids), bands)."""
        self.flush()
        self._merge(np.asarray(rids, dtype=np.int32), band_keys)

    def _merge(self, rids: np.ndarray, band_keys: np.ndarray) -> None:
        for b in range(self.bands):
            keys = np.concatenate([self.keys[b], band_keys[:, b]])
            ids = np.concatenate([self.ids[b], rids])
            # by key, then by id: the tail of a bucket holds its newest records
            order = np.lexsort((ids, keys))
            self.keys[b], self.ids[b] = keys[order], ids[order]

    def flush(self) -> None:
        n = len(self._pend_ids)
        if not n:
            return
        keys = self._pend_keys.view().reshape(n, self.bands).copy()
        ids = self._pend_ids.view().copy()
        self._pend_keys = Grow(_U64)
        self._pend_ids = Grow(np.int32)
        self._merge(ids, keys)

    def query(self, band_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(candidate ids, number of bands shared), newest ``cap`` entries of each bucket only."""
        found = []
        # A bucket's bounds in one search: where its key starts and where the next key would. (The
        # largest key has no next one; it is searched for on the right instead.) The array methods
        # rather than ``np.searchsorted``, which dispatches in Python first: 32 searches a query.
        bounds = np.empty((len(band_keys), 2), dtype=_U64)  # (np.stack costs more than the searches)
        bounds[:, 0] = band_keys
        bounds[:, 1] = band_keys + _U64(1)
        at_top = (band_keys == np.iinfo(_U64).max).tolist()
        for b, (keys, ids) in enumerate(zip(self.keys, self.ids, strict=True)):
            if at_top[b]:
                lo, hi = int(keys.searchsorted(band_keys[b], "left")), len(keys)
            else:
                lo, hi = keys.searchsorted(bounds[b]).tolist()
            if hi > lo:
                # a bucket shared by thousands (boilerplate texts) is capped to its newest ids
                found.append(ids[max(lo, hi - self.cap) : hi])
        n = len(self._pend_ids)
        if n:
            hits = self._pend_keys.view().reshape(n, self.bands) == band_keys[None, :]
            counts = hits.sum(axis=1)
            nz = counts.nonzero()[0]
            if len(nz):
                found.append(np.repeat(self._pend_ids.view()[nz], counts[nz]))
        if not found:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
        ids, counts = np.unique(np.concatenate(found), return_counts=True)
        return ids, counts

    def memory_bytes(self) -> int:
        return sum(k.nbytes + i.nbytes for k, i in zip(self.keys, self.ids, strict=True))
