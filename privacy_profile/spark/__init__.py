"""Running the pipeline on Apache Spark (PySpark, the ``spark`` extra): a
:class:`SparkBackend` for ingestion (the same per-batch stages, per partition with
``mapInPandas``) and :func:`spark_session` (local ``local[2]`` by default).

pyspark is imported lazily: importing this package does not need it; building a backend does.
"""

from __future__ import annotations

from privacy_profile.spark.ingest import SparkBackend
from privacy_profile.spark.session import DEFAULT_MASTER, spark_session

__all__ = ["DEFAULT_MASTER", "SparkBackend", "spark_session"]
