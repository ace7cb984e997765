"""The test's clock: the one "now" that factories, tokens and the app under test share.

It reads the wall clock until a test pins it (``clock.set(moment)``); from then on it stands
still at that moment until the test moves it (``clock.advance(delta)``). A test that writes
a fixed date pins the clock to it, so the ladder, enrolments and tokens its factories make
are dated from the same moment as its events, and the test means the same on any day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class TestClock:
    __test__ = False  # not a test class, whatever pytest's name patterns say

    def __init__(self) -> None:
        self._pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.now()

    def now(self) -> datetime:
        if self._pinned is not None:
            return self._pinned
        return datetime.now(UTC)

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the test clock needs an aware datetime")
        self._pinned = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._pinned = self.now() + delta


# The clock of the test running now (conftest installs a fresh one for every test).
current = TestClock()
