"""The database breaker: refuse at once while down, let one request try per interval, close
on the first answer; off unless a web process turns it on."""

import time
from collections.abc import Iterator

import pytest

from composer_realtime.dbhealth import Breaker, DatabaseUnavailable
from realtime import metrics


@pytest.fixture
def breaker() -> Iterator[Breaker]:
    found = Breaker(retry_s=0.2)
    found.enabled = True
    yield found


def test_an_answering_database_admits_everyone(breaker):
    for _ in range(3):
        breaker.admit(trial_s=5)
    assert not breaker.down


def test_once_down_requests_are_refused_at_once_but_one_tries_per_interval(breaker):
    downs = metrics.DATABASE_DOWN.labels(reason="timeout").value
    breaker.failed(reason="timeout", detail="no answer within 6 s")
    assert breaker.down
    with pytest.raises(DatabaseUnavailable):
        breaker.admit(trial_s=5)
    time.sleep(0.25)
    breaker.admit(trial_s=5)  # the trial
    with pytest.raises(DatabaseUnavailable):  # while it tries, the others are refused
        breaker.admit(trial_s=5)
    breaker.failed(reason="timeout", detail="again")  # the trial failed: one more interval
    with pytest.raises(DatabaseUnavailable):
        breaker.admit(trial_s=5)
    time.sleep(0.25)
    breaker.admit(trial_s=5)
    breaker.answered()  # it got through: everyone is admitted again
    assert not breaker.down
    breaker.admit(trial_s=5)
    breaker.admit(trial_s=5)
    assert metrics.DATABASE_DOWN.labels(reason="timeout").value == downs + 1, "one outage"


def test_a_trial_that_never_reports_back_does_not_block_the_next_for_ever(breaker):
    breaker.failed(reason="pool", detail="no connection within 3 s")
    time.sleep(0.25)
    breaker.admit(trial_s=0.1)  # a trial whose request never touched the database
    time.sleep(0.15)
    breaker.admit(trial_s=0.1)  # the next one may try


def test_a_breaker_that_is_off_never_refuses():
    breaker = Breaker(retry_s=60)
    breaker.failed(reason="connect", detail="refused")
    assert not breaker.down
    breaker.admit(trial_s=5)
