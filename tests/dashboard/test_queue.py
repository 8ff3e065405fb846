"""The per-tab query queue: trail, cursor, prefetched batch, generations."""
from __future__ import annotations

import math

from alabel.core.session import QueryItem
from alabel.dashboard.queue import QueryQueue, Shown


def items(*ids: str, version: int = 1) -> list[QueryItem]:
    return [QueryItem(object_id=i, row=int(i), score=0.5, strategy="margin", reason="r", model_version=version)
            for i in ids]


def test_advance_takes_the_batch_in_order_then_runs_dry():
    q = QueryQueue(low_water=1)
    g = q.begin_fetch()
    assert q.offer(items("1", "2"), g) == []
    assert q.advance().object_id == "1" and q.current.object_id == "1"
    assert q.needs_refill()  # one left ahead
    assert q.advance().object_id == "2"
    assert q.advance() is None and q.current.object_id == "2"


def test_back_and_forward_walk_the_trail():
    q = QueryQueue()
    q.offer(items("1", "2", "3"), q.begin_fetch())
    for _ in range(3):
        q.advance()
    assert q.back().object_id == "2" and q.back().object_id == "1"
    assert q.back() is None and q.current.object_id == "1"
    assert q.advance().object_id == "2" and q.position == 2


def test_offer_skips_known_objects_and_replace_returns_dropped_leases():
    q = QueryQueue()
    q.offer(items("1", "2", "3"), q.begin_fetch())
    q.advance()
    released = q.offer(items("1", "4", "5"), q.begin_fetch(), replace=True)
    assert sorted(released) == ["2", "3"]  # queued before, not in the new batch
    assert [s.object_id for s in q.upcoming] == ["4", "5"]


def test_a_newer_model_replaces_the_batch_but_keeps_random_picks_first():
    """Audit and test picks do not depend on the model; dropping them would starve the random share."""
    q = QueryQueue()
    batch = items("1", "2", "3") + [QueryItem(object_id="9", row=9, score=0.0, strategy="audit", reason="r",
                                              model_version=1)]
    q.offer(batch, q.begin_fetch())
    q.advance()
    released = q.offer(items("4", "5", version=2), q.begin_fetch(), replace=True)
    assert sorted(released) == ["2", "3"]
    assert [s.object_id for s in q.upcoming] == ["9", "4", "5"]
    assert q.advance().object_id == "9"


def test_results_of_an_older_generation_are_refused():
    q = QueryQueue()
    g = q.begin_fetch()
    q.offer(items("1"), q.begin_fetch())
    q.advance()
    released = q.reset()
    assert released == []
    assert q.offer(items("7", "8"), g) == ["7", "8"]  # fetched for the old mode: give the leases back
    assert not q.upcoming and q.fetching == 0


def test_reset_releases_what_was_ahead():
    q = QueryQueue()
    q.offer(items("1", "2", "3"), q.begin_fetch())
    q.advance()
    q.advance()
    q.back()  # "2" is now ahead in the trail
    assert sorted(q.reset()) == ["2", "3"]
    assert q.current.object_id == "1" and q.ahead() == []


def test_show_again_puts_an_undone_object_at_the_cursor():
    q = QueryQueue()
    q.offer(items("1", "2", "3"), q.begin_fetch())
    first = q.advance()
    first.outcome = "a"
    q.advance()
    again = q.show_again(Shown(items("1")[0]))
    assert again is first and again.outcome is None and q.current.object_id == "1"
    outside = QueryItem(object_id="9", row=9, score=math.nan, strategy="undo", reason="", model_version=None)
    q.show_again(Shown(outside))
    assert q.current.object_id == "9"
    assert [s.object_id for s in q.ahead()] == ["1", "2", "3"]


def test_outstanding_ids_are_the_unhandled_ones():
    q = QueryQueue()
    q.offer(items("1", "2", "3"), q.begin_fetch())
    q.advance().outcome = "skip"
    q.advance()
    assert sorted(q.outstanding_ids()) == ["2", "3"]
