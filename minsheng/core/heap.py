"""The cyclic garbage collector in a process that holds the duplicate index.

The index, with what is loaded beside it (Django, jieba's word tables, the gazetteer), is a few hundred
thousand Python objects that live as long as the process. CPython's full collection walks every one of
them: in a worker registering pushed work orders against 15,000 indexed appeals it came every ~600
appeals and took 0.15–0.2 s each time; with the younger generations' passes the collector took 1.1–1.5 s
of CPU per 3,000 appeals, about 6 % of the worker's. Once the index is loaded its objects are frozen
(``gc.freeze``: left out of every later collection), and the youngest generation is collected after
20,000 new objects rather than 700, so that a batch's rows, which live a few seconds, are mostly freed
by their reference counts before they are promoted and walked again. Measured the same way: 0.27–0.29 s
per 3,000 appeals.

An index that grows (a worker that started empty) is frozen again each time it has grown by half:
a full collection each time, a few in all. The collection just before freezing leaves nothing frozen
that was already garbage; what is frozen and later freed by its reference count is freed as always.
Only objects in a reference cycle that is still alive when frozen and dropped later stay until the
index is next rebuilt (``thaw``): a batch's rows at most, a few times. A small index (tests, a new
installation) is not worth the collection and is left alone.
"""

from __future__ import annotations

import gc

YOUNG = 20_000  # new objects between collections of the youngest generation (CPython's default: 700)
FREEZE_FROM = 2_000  # appeals indexed: below this a full collection costs more than freezing saves
GROWTH = 1.5  # frozen again once the index has grown by half since it was last frozen

_frozen_at = 0  # the index's size when it was last frozen


def thaw() -> None:
    """Before the long-lived objects are replaced (the index rebuilt or reloaded): what was frozen
    becomes collectable again, the old index among it."""
    global _frozen_at
    gc.unfreeze()
    _frozen_at = 0


def settle(size: int) -> None:
    """The index has ``size`` appeals now. When it is large and has grown by half since it was last
    frozen (or was never frozen): collect what is garbage now (an index replaced, and anything still
    pointing at it), freeze the rest, and collect the young less often."""
    global _frozen_at
    if size < FREEZE_FROM or size < _frozen_at * GROWTH:
        return
    gc.collect()
    gc.freeze()
    _frozen_at = size
    young, middle, old = gc.get_threshold()
    if young and young < YOUNG:  # 0: collection is disabled; leave it so
        gc.set_threshold(YOUNG, middle, old)
