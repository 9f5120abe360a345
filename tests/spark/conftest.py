"""One SparkSession (local[2]) for the whole test session (the JVM starts once), and one small
demo data set for the Spark tests."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privacy_profile.demo import generate_demo_data
from privacy_profile.ingest import KeyRing
from privacy_profile.policy import LoadedPolicy, load_policy_file

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
PURPOSE = "marketing.advertising.profiling"


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


@pytest.fixture(scope="session")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop policy with k-anonymity k=2, so a few hundred demo users keep some subjects
    (k=10 suppresses all of them; the Spark tests stay small to stay fast)."""
    text = Path("policies/wechat_shop.yaml").read_text(encoding="utf-8")
    assert "  k_anonymity:\n    k: 10\n" in text
    path = tmp_path_factory.mktemp("spark_policy") / "policy.yaml"
    path.write_text(text.replace("  k_anonymity:\n    k: 10\n", "  k_anonymity:\n    k: 2\n"))
    return path


@pytest.fixture(scope="session")
def demo(
    tmp_path_factory: pytest.TempPathFactory, policy_file: Path
) -> tuple[LoadedPolicy, Path, KeyRing]:
    loaded = load_policy_file(policy_file)
    out = tmp_path_factory.mktemp("spark_demo")
    data = generate_demo_data(out, n_users=300, seed=11, now=NOW, policy=loaded.policy)
    return loaded, data.input_dir, KeyRing.development(loaded.policy, seed=b"spark-parity")
