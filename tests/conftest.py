"""Shared test fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("PRIVACY_PROFILE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
)


@pytest.fixture
def shared_data() -> Path:
    """The public data sets in ../shared/data; skips the test with a reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"../shared/data is absent ({SHARED_DATA}); this test needs the public data sets"
        )
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _clear_key_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees key material left in the environment by another test or the shell."""
    for name in list(os.environ):
        if name.startswith("PRIVACY_PROFILE_KEY") or name.startswith("PP_KEY"):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster for the session (tests/_support/postgres.py); skips with
    a reason when the server binaries or psycopg are absent."""
    from _support.postgres import throwaway_cluster, unavailable

    why = unavailable()
    if why is not None:
        if os.environ.get("PRIVACY_PROFILE_REQUIRE_POSTGRES"):  # set by .ci/run
            pytest.fail(f"CI requires the PostgreSQL tests: {why}")
        pytest.skip(why)
    with throwaway_cluster() as url:
        yield url
