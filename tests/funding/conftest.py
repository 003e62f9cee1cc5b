"""Fixtures of the batch-import tests (test_funding_import_batch*.py)."""
from __future__ import annotations

import pytest

from tests import factories
from tracker.imports import running


@pytest.fixture(params=[2, 500], ids=["batches-of-2", "batches-of-500"])
def batch_rows(request, monkeypatch):
    """Rows per batch: 2 (what a batch learns must reach the next ones) or 500 (the whole file in one)."""
    monkeypatch.setattr(running, "BATCH_ROWS", request.param)
    return request.param


@pytest.fixture
def funding_manager(rq):
    """A manager of CD and CF (TF-SS-2025-01, in South Sudan, is outside her countries), in a request context."""
    return factories.UserFactory(role="manager", countries=["CD", "CF"])
