"""Backoff, Retry-After parsing and the provider profiles, as plain functions."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from hv_pipelines.core.bulkdata import ExportLevel, profile_for
from hv_pipelines.core.bulkdata.retry import Backoff, next_delay, retry_after_seconds
from hv_pipelines.core.errors import ConfigurationError


def test_backoff_grows_exponentially_with_bounded_jitter_and_cap():
    backoff = Backoff(initial=1.0, factor=2.0, cap=10.0, jitter=0.2, rng=random.Random(7))
    delays = [backoff.delay(n) for n in range(8)]
    for n, delay in enumerate(delays[:3]):
        assert 0.8 * 2**n <= delay <= 1.2 * 2**n
    assert all(d <= 10.0 for d in delays) and delays[-1] >= 8.0


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now=now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert retry_after_seconds("soon", now=now) is None and retry_after_seconds(None) is None


def test_retry_after_is_capped_and_absent_header_falls_back_to_backoff():
    backoff = Backoff(initial=2.0, cap=60.0, jitter=0.0)
    assert next_delay("3600", backoff, 0) == 300.0  # the default cap: five minutes
    assert next_delay("3600", backoff, 0, cap=30.0) == 30.0
    assert next_delay(None, backoff, 2) == 8.0


def test_epic_supports_group_export_only():
    epic = profile_for("EPIC")
    assert epic.default_level is ExportLevel.GROUP
    with pytest.raises(ConfigurationError, match="Epic does not support patient-level export"):
        epic.check_level(ExportLevel.PATIENT)


def test_every_holovitals_provider_has_a_profile_and_unknown_ones_are_generic():
    for provider in ("EPIC", "CERNER", "ATHENAHEALTH", "ECLINICALWORKS", "ALLSCRIPTS"):
        assert profile_for(provider).provider == provider
    assert profile_for("MEDITECH").provider == "OTHER"
