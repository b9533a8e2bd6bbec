import gc

import pytest

from minsheng.core import heap


@pytest.fixture
def collector():
    """The collector's state is the process's: put it back afterwards."""
    threshold = gc.get_threshold()
    heap.thaw()
    yield
    heap.thaw()
    gc.set_threshold(*threshold)


def _tracked(obj) -> bool:
    """Whether a collection would walk ``obj`` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_a_small_index_is_left_to_the_collector(collector):
    young = gc.get_threshold()[0]
    heap.settle(heap.FREEZE_FROM - 1)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == young


def test_a_large_index_is_frozen_and_frozen_again_only_once_it_has_grown_by_half(collector):
    before = [object() for _ in range(3)]  # a list is tracked; its objects stand for the index
    heap.settle(heap.FREEZE_FROM)
    assert not _tracked(before)
    assert gc.get_threshold()[0] >= heap.YOUNG

    grown = [object()]
    heap.settle(int(heap.FREEZE_FROM * heap.GROWTH) - 1)
    assert _tracked(grown)  # not worth another full collection yet
    heap.settle(int(heap.FREEZE_FROM * heap.GROWTH))
    assert not _tracked(grown)

    heap.thaw()  # the index rebuilt: everything is collectable again
    assert _tracked(before) and gc.get_freeze_count() == 0


def test_nothing_that_is_garbage_when_freezing_is_kept(collector):
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.me = cycle
    ref = weakref.ref(cycle)
    del cycle
    heap.settle(heap.FREEZE_FROM)
    assert ref() is None
