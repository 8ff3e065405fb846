"""Repeated failed sign-ins lock the name and the client address for a while."""
from __future__ import annotations

import pytest
from alabel.dashboard.login_throttle import LoginThrottle


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_five_failures_lock_the_name_for_the_lock_time_and_a_success_clears_it():
    clock = Clock()
    throttle = LoginThrottle(max_failures=5, window_s=900, lock_s=300, clock=clock)
    for _ in range(4):
        throttle.failed("user:ana", "address:10.0.0.9")
        clock.now += 1
    assert throttle.refused_for("user:ana", "address:10.0.0.9") == 0
    throttle.failed("user:ana", "address:10.0.0.9")
    assert throttle.refused_for("user:ana") == pytest.approx(300)
    assert throttle.refused_for("user:bob", "address:10.0.0.9") == pytest.approx(300)  # the address too
    assert throttle.refused_for("user:bob", "address:10.0.0.10") == 0
    clock.now += 301
    assert throttle.refused_for("user:ana", "address:10.0.0.9") == 0
    throttle.failed("user:ana")
    throttle.succeeded("user:ana")
    for _ in range(4):
        throttle.failed("user:ana")
    assert throttle.refused_for("user:ana") == 0  # the success forgot the failure before it


def test_failures_outside_the_window_do_not_count():
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, lock_s=30, clock=clock)
    for _ in range(5):
        throttle.failed("user:kim")
        clock.now += 31  # never 3 within 60 s
    assert throttle.refused_for("user:kim") == 0


def test_memory_stays_bounded_under_a_spray_of_names():
    throttle = LoginThrottle(max_failures=5, max_keys=100)
    for i in range(5_000):
        throttle.failed(f"user:n{i}")
    assert len(throttle._records) <= 100


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_failures"):
        LoginThrottle(max_failures=0)
