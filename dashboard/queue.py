"""What one annotator is shown, in order: the trail behind and the batch ahead.

The labelling loop must never wait for a query: a query over a million rows
takes a good fraction of a second, a label click must be answered in tens of
milliseconds. So each tab keeps the objects its last query returned (leased
to the annotator) *ahead* in :attr:`QueryQueue.upcoming`, and the dashboard
refills it in a worker thread when it runs low or when a new model makes it
stale. Objects already shown stay in :attr:`QueryQueue.trail`, so previous/next
navigation and relabelling work without asking the engine again.

The queue does no I/O: the caller fetches, leases and releases; the queue
only decides what comes next and which leases are no longer needed.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from alabel.core.evaluation.estimates import RANDOM_PICK_STRATEGIES

#: How many objects the trail keeps behind the cursor.
TRAIL_LENGTH = 500


@dataclass
class Shown:
    """An object put in front of the annotator, and what they did with it.

    Attributes
    ----------
    item : QueryItem
        What the engine said about the object (strategy, score, reason).
    split : str
        ``"train"`` or ``"test"`` (test-set mode): where its label goes.
    outcome : str or None
        The class it was labelled with, ``"skip"``/``"unsure"``, or None.
    """

    item: object
    split: str = "train"
    outcome: str | None = None

    @property
    def object_id(self) -> str:
        return self.item.object_id

    @property
    def row(self) -> int:
        return int(self.item.row)


class QueryQueue:
    """The trail of shown objects, a cursor into it, and the prefetched batch.

    Parameters
    ----------
    low_water
        :meth:`needs_refill` says yes when this few objects are left ahead.
    """

    def __init__(self, *, low_water: int = 3):
        self.low_water = low_water
        self.trail: list[Shown] = []
        self.cursor = -1
        self.upcoming: deque[Shown] = deque()
        self.generation = 0
        self.fetching = 0
        self._lock = threading.RLock()

    # -- reading ---------------------------------------------------------------------
    @property
    def current(self) -> Shown | None:
        with self._lock:
            return self.trail[self.cursor] if 0 <= self.cursor < len(self.trail) else None

    @property
    def position(self) -> int:
        """1-based position of the current object among those shown so far."""
        return self.cursor + 1

    def ahead(self) -> list[Shown]:
        """Objects queued after the current one: the trail ahead, then the batch."""
        with self._lock:
            return self.trail[self.cursor + 1:] + list(self.upcoming)

    def known_ids(self) -> set[str]:
        with self._lock:
            return {s.object_id for s in self.trail} | {s.object_id for s in self.upcoming}

    def outstanding_ids(self) -> list[str]:
        """Objects shown or queued but not labelled nor skipped: their leases are ours."""
        with self._lock:
            return [s.object_id for s in [*self.trail, *self.upcoming] if s.outcome is None]

    def needs_refill(self) -> bool:
        with self._lock:
            unhandled_ahead = sum(1 for s in self.trail[self.cursor + 1:] if s.outcome is None)
            return self.fetching == 0 and unhandled_ahead + len(self.upcoming) <= self.low_water

    # -- filling ---------------------------------------------------------------------
    def begin_fetch(self) -> int:
        """Note that a fetch started; returns the generation its result must match."""
        with self._lock:
            self.fetching += 1
            return self.generation

    def offer(self, items: list, generation: int, *, split: str = "train",
              replace: bool = False) -> list[str]:
        """Add fetched items; returns the ids whose leases the caller should release.

        A result from an older generation (the mode changed since the fetch
        started) is refused whole. ``replace`` drops the queued batch first (a
        newer model chose better objects); objects already shown are kept.
        """
        with self._lock:
            self.fetching = max(0, self.fetching - 1)
            if generation != self.generation:
                return [i.object_id for i in items if i.object_id not in self.known_ids()]
            dropped: list[str] = []
            if replace:
                # Random audit/test picks do not depend on the model: keep them, first, or a
                # tab that gets a newer model every label or two would never serve them and
                # the random share behind the honest estimate would starve.
                random = [s for s in self.upcoming if getattr(s.item, "strategy", "") in RANDOM_PICK_STRATEGIES]
                kept = {s.object_id for s in random}
                dropped = [s.object_id for s in self.upcoming if s.object_id not in kept]
                self.upcoming.clear()
                self.upcoming.extend(random)
            seen = {s.object_id for s in self.trail} | {s.object_id for s in self.upcoming}
            for item in items:
                if item.object_id in seen:
                    continue
                seen.add(item.object_id)
                # The engine may hold an item out for the test split (labels.test_fraction).
                self.upcoming.append(Shown(item, split="test" if split == "test" else
                                           getattr(item, "split", split)))
            return [i for i in dropped if i not in seen]

    def fetch_failed(self, generation: int) -> None:
        with self._lock:
            if generation == self.generation:
                self.fetching = max(0, self.fetching - 1)

    def reset(self) -> list[str]:
        """Forget the batch ahead (mode or annotator changed); returns leases to release."""
        with self._lock:
            self.generation += 1
            self.fetching = 0
            released = [s.object_id for s in self.upcoming if s.outcome is None]
            released += [s.object_id for s in self.trail[self.cursor + 1:] if s.outcome is None]
            self.upcoming.clear()
            del self.trail[self.cursor + 1:]
            return released

    # -- moving ----------------------------------------------------------------------
    def advance(self) -> Shown | None:
        """Move to the next object (the trail ahead first, then the batch); None when none is queued."""
        with self._lock:
            if self.cursor + 1 < len(self.trail):
                self.cursor += 1
                return self.trail[self.cursor]
            if not self.upcoming:
                return None
            self.trail.append(self.upcoming.popleft())
            self._trim()
            self.cursor = len(self.trail) - 1
            return self.trail[self.cursor]

    def back(self) -> Shown | None:
        """Move to the previous object; None (and no move) at the start of the trail."""
        with self._lock:
            if self.cursor <= 0:
                return None
            self.cursor -= 1
            return self.trail[self.cursor]

    def show_again(self, shown: Shown) -> Shown:
        """Put ``shown`` (an undone object) at the cursor, before the current one."""
        with self._lock:
            for i, s in enumerate(self.trail):
                if s.object_id == shown.object_id:
                    s.outcome = None
                    self.cursor = i
                    return s
            self.upcoming = deque(s for s in self.upcoming if s.object_id != shown.object_id)
            position = max(self.cursor, 0)
            self.trail.insert(position, shown)
            self.cursor = position
            return shown

    def settle(self, object_ids, outcome: str) -> list[Shown]:
        """Mark objects answered outside the one-at-a-time flow (the grid); returns them.

        Those in the trail keep their place (navigation still finds them);
        those queued ahead leave the batch, so the labelling panel does not
        show them again.
        """
        wanted = {str(o) for o in object_ids}
        with self._lock:
            settled = [s for s in self.trail if s.object_id in wanted and s.outcome is None]
            settled += [s for s in self.upcoming if s.object_id in wanted]
            for shown in settled:
                shown.outcome = outcome
            self.upcoming = deque(s for s in self.upcoming if s.object_id not in wanted)
            return settled

    def unsettle(self, shown: list[Shown]) -> None:
        """Undo :meth:`settle`: the objects wait for an answer again (those left over first in the batch)."""
        with self._lock:
            in_trail = {id(s) for s in self.trail}
            queued = {s.object_id for s in self.upcoming}
            back = []
            for s in shown:
                s.outcome = None
                if id(s) not in in_trail and s.object_id not in queued:
                    back.append(s)
            self.upcoming.extendleft(reversed(back))

    def _trim(self) -> None:
        excess = len(self.trail) - TRAIL_LENGTH
        if excess > 0:
            del self.trail[:excess]
            self.cursor = max(-1, self.cursor - excess)
