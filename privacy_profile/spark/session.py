"""One Spark session for a run: the master from the caller, else an active session's, else
``local[2]``; everything else from the standard Spark configuration (spark-defaults.conf,
``spark-submit --conf``)."""

from __future__ import annotations

import os
import sys
from typing import Any

from privacy_profile.errors import InputError
from privacy_profile.ingest.backend import IngestBackend, PandasBackend

__all__ = ["DEFAULT_MASTER", "ENGINES", "ingest_backend", "spark_session"]

ENGINES = ("pandas", "spark")

DEFAULT_MASTER = "local[2]"


def _require_pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise InputError(
            "the Spark engine needs pyspark, which is not installed",
            hint="pip install 'privacy-profile[spark]' (and a Java 17+ runtime)",
        ) from None
    return pyspark.sql


def spark_session(master: str | None = None, *, app_name: str = "privacy_profile") -> Any:
    """The active SparkSession (e.g. under ``spark-submit``), or a new one on ``master``
    (``local[2]`` when none is given). A local master runs the Python workers with this
    interpreter, so they import the same privacy_profile."""
    sql = _require_pyspark()
    active = sql.SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    url = master or DEFAULT_MASTER
    builder = sql.SparkSession.builder.appName(app_name).master(url)
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    if url.startswith("local"):
        # local Python workers run this interpreter (its venv), unless the caller chose one
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.config("spark.pyspark.python", sys.executable)
            .config("spark.pyspark.driver.python", sys.executable)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def ingest_backend(
    engine: str, master: str | None = None, *, staging: str | None = None
) -> IngestBackend:
    """The ingest backend named ``engine`` (``pandas`` or ``spark``; for Spark, ``master`` and
    the ``staging`` directory of :class:`~privacy_profile.spark.SparkBackend`)."""
    if engine == "pandas":
        if staging is not None:
            raise InputError(
                "a staging directory is for the Spark engine only",
                hint="add --engine spark, or leave out --spark-staging",
            )
        return PandasBackend()
    if engine == "spark":
        from privacy_profile.spark.ingest import SparkBackend

        return SparkBackend(spark_session(master), staging=staging)
    raise InputError(
        f"unknown engine {engine!r}",
        hint="use --engine " + " or --engine ".join(ENGINES),
    )
