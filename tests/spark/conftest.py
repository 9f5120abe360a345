"""One SparkSession (local[2]) for the whole test session: the JVM starts once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="the spark extra (pyspark) is not installed")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on PATH (Spark needs Java 17+)")
    from privacy_profile.spark import spark_session

    session = spark_session("local[2]", app_name="privacy_profile-tests")
    yield session
    session.stop()
