"""One SparkSession (local[2]) for the whole test session: the JVM starts once."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    why = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        why = "the spark extra (pyspark) is not installed"
    if why is None and shutil.which("java") is None:
        why = "no Java runtime on PATH (Spark needs Java 17+)"
    if why is not None:
        if os.environ.get("PRIVACY_PROFILE_REQUIRE_SPARK"):  # set by .ci/run
            pytest.fail(f"CI requires the Spark tests: {why}")
        pytest.skip(why)
    from privacy_profile.spark import spark_session

    session = spark_session("local[2]", app_name="privacy_profile-tests")
    yield session
    session.stop()
