"""RetryPolicy and Retry-After parsing: pure, so every case is pinned exactly."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_aep.delivery.retry import RetryPolicy, parse_retry_after, retryable_status

NOW = 1_700_000_000.0


def fixed_now() -> float:
    return NOW


@pytest.mark.parametrize("status", [429, 500, 501, 502, 503, 504, 521, 599])
def test_retryable_statuses(status: int) -> None:
    assert retryable_status(status)


@pytest.mark.parametrize("status", [200, 207, 301, 400, 401, 402, 403, 404, 405, 410, 413, 428])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not retryable_status(status)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("1", 1.0),
        (" 120 ", 120.0),
        ("0.5", 0.5),
        ("", None),
        ("   ", None),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("nan", None),
        ("inf", None),
        ("1e400", None),
        ("²", None),  # isdigit() but not int(): found by hypothesis in CI
        ("٣", None),  # an Arabic-Indic 3: float() takes it, a server never means it
        ("1_0", None),
        ("9" * 400, None),
        ("1.", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=fixed_now) == expected


def test_parse_retry_after_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 30, tz=timezone.utc)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=fixed_now) == 30.0


def test_parse_retry_after_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=fixed_now) == 0.0


@given(st.text(max_size=60))
def test_parse_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, now=fixed_now)
    assert result is None or result >= 0


def test_full_jitter_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(retries=10, base=0.5, cap=3.0, random=lambda: 0.999999)
    ceilings = [policy.next_delay(n) for n in range(1, 6)]
    assert ceilings == pytest.approx([0.5, 1.0, 2.0, 3.0, 3.0], rel=1e-5)


def test_full_jitter_can_be_zero() -> None:
    assert RetryPolicy(random=lambda: 0.0).next_delay(1) == 0.0


def test_gives_up_after_the_configured_retries() -> None:
    policy = RetryPolicy(retries=3, random=lambda: 0.5)
    assert [policy.next_delay(n) is not None for n in (1, 2, 3, 4, 5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert RetryPolicy(retries=0).next_delay(1) is None


def test_default_is_three_retries() -> None:
    assert RetryPolicy().retries == 3


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(base=0.5, max_retry_after=10.0, random=lambda: 0.5)
    assert policy.next_delay(1, retry_after=2.0) == 2.0
    assert policy.next_delay(1, retry_after=600.0) == 10.0
    # A Retry-After shorter than the backoff does not make the wait shorter.
    assert policy.next_delay(1, retry_after=0.0) == 0.25


def test_delay_after_never_retries_what_is_not_retryable() -> None:
    policy = RetryPolicy(random=lambda: 0.5)
    assert policy.delay_after(False, 1, 1.0) is None
    assert policy.delay_after(True, 1, None) == 0.25


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(base=-0.1)


@given(
    attempt=st.integers(min_value=1, max_value=200),
    rnd=st.floats(min_value=0.0, max_value=0.999999),
    retry_after=st.none() | st.floats(min_value=0.0, max_value=1e9),
)
def test_delays_stay_within_bounds(attempt: int, rnd: float, retry_after: float | None) -> None:
    policy = RetryPolicy(retries=200, base=0.5, cap=8.0, max_retry_after=30.0, random=lambda: rnd)
    delay = policy.next_delay(attempt, retry_after)
    assert delay is not None
    assert 0.0 <= delay <= 30.0
    if retry_after is not None:
        assert delay >= min(retry_after, 30.0)
