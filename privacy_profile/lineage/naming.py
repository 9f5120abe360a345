"""Dataset names per the OpenLineage naming spec, so the same file read by two runs or two
tools is one dataset in Marquez, DataHub or OpenMetadata.

A dataset is ``(namespace, name)`` where the namespace is the data source
(``scheme://authority``) and the name the path within it:

===================================  ================================  ====================
location                             namespace                         name
===================================  ================================  ====================
``/data/shop/users.csv`` (local)     ``file``                          ``/data/shop/users.csv``
``file:///data/shop/users.csv``      ``file``                          ``/data/shop/users.csv``
``hdfs://nn:8020/shop/users``        ``hdfs://nn:8020``                ``/shop/users``
``s3://bucket/shop/users.parquet``   ``s3://bucket``                   ``shop/users.parquet``
``gs://bucket/shop/users.parquet``   ``gs://bucket``                   ``shop/users.parquet``
``abfss://c@acct.dfs.core...net/p``  ``abfss://c@acct.dfs.core...net``  ``p``
other ``scheme://host:port/path``    ``scheme://host:port``            ``/path``
===================================  ================================  ====================

Local paths are made absolute (not resolved through links, so the name is the path the user
gave, from the root). User information (``user:password@``) and query strings never reach a
name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

__all__ = ["DatasetName", "dataset_name"]

_BUCKETS = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs"}


@dataclass(frozen=True, order=True)
class DatasetName:
    """An OpenLineage dataset identity."""

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        if self.namespace == "file":
            return "file://" + self.name
        sep = "" if self.name.startswith("/") else "/"
        return f"{self.namespace}{sep}{self.name}"


def dataset_name(location: str | os.PathLike[str]) -> DatasetName:
    """The OpenLineage ``(namespace, name)`` of a file or URI; see the module docstring."""
    text = os.fspath(location)
    if isinstance(location, Path) or "://" not in text:
        return DatasetName("file", _local(text))
    u = urlsplit(text)
    scheme = u.scheme.lower()
    if scheme == "file":
        return DatasetName("file", _local(unquote(u.path)))
    host = u.hostname or ""
    if scheme in _BUCKETS:
        return DatasetName(f"{_BUCKETS[scheme]}://{host}", unquote(u.path).lstrip("/"))
    if scheme in ("abfs", "abfss", "wasb", "wasbs"):
        container = u.username or ""
        authority = f"{container}@{host}" if container else host
        return DatasetName(f"{scheme}://{authority}", unquote(u.path).lstrip("/"))
    port = f":{u.port}" if u.port else ""
    path = unquote(u.path) or "/"
    return DatasetName(f"{scheme}://{host}{port}", path)


def _local(path: str) -> str:
    p = Path(path).expanduser()
    absolute = p if p.is_absolute() else Path.cwd() / p
    return str(PurePosixPath(os.path.normpath(absolute)))
