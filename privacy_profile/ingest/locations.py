"""Where an input file or folder is: a local path, or a path on a file system that pyarrow opens
from a URI (``file://``, ``hdfs://``, ``s3://``, ``gs://``, ``abfss://``).

:class:`InputLocation` answers the few questions ingestion asks of an input (does it exist, is
it a file or a folder, its size and name) and opens it for reading, the same way for both
kinds; a plain local path behaves exactly as the :class:`~pathlib.Path` it wraps (same checks,
same text in messages). :func:`input_location` parses what a caller gives. A URI is refused
with an :class:`~privacy_profile.errors.InputError`, before anything is read, when it carries
credentials (a password, or a secret in its query: it would reach messages and lineage) or
when pyarrow cannot open its file system. Credentials come from each file system's own
configuration (environment variables, Hadoop or Spark settings, credential files).
"""

from __future__ import annotations

import io
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from privacy_profile.errors import InputError

__all__ = [
    "InputLocation",
    "common_parent",
    "input_location",
    "is_uri",
    "redact_uri",
    "relative_name",
]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Spark's (Hadoop's) names of S3 that pyarrow knows as s3 (the same bucket and key)
_ARROW_SCHEME = {"s3a": "s3", "s3n": "s3"}
# query parameters that carry a credential (pyarrow's s3 access_key / secret_key /
# session_token, Azure's account_key and SAS signature, ...)
_SECRET_WORDS = ("key", "secret", "token", "password", "credential", "sig")
_HINT_CREDENTIALS = (
    "remove it from the URI; give the file system's credentials through its own "
    "configuration (environment variables such as AWS_ACCESS_KEY_ID, Hadoop or Spark "
    "settings, a credentials file)"
)


def is_uri(text: str) -> bool:
    """Whether ``text`` is a URI (``scheme://...``) rather than a local path."""
    return _URI.match(text) is not None


def redact_uri(uri: str) -> str:
    """``uri`` without any password or query (safe for messages)."""
    u = urlsplit(uri)
    user = f"{u.username}@" if u.username else ""
    host = u.hostname or ""
    try:
        port = f":{u.port}" if u.port else ""
    except ValueError:
        port = ""
    return f"{u.scheme}://{user}{host}{port}{u.path}"


@dataclass(frozen=True)
class InputLocation:
    """A file or folder inputs are read from: a plain local path (``local``), or ``path`` on
    the pyarrow file system ``fs`` named by the URI ``text`` (which never carries a secret)."""

    text: str
    local: Path | None = None
    fs: pafs.FileSystem | None = None
    path: str = ""

    @classmethod
    def of_path(cls, path: str | os.PathLike[str]) -> InputLocation:
        """A plain local path (checked and opened as a :class:`~pathlib.Path`)."""
        p = Path(path)
        return cls(text=str(p), local=p)

    @classmethod
    def on(cls, fs: pafs.FileSystem, path: str, *, uri: str | None = None) -> InputLocation:
        """``path`` on a file system the caller built (for example a ``SubTreeFileSystem``);
        ``uri`` is how messages and lineage name it (the Spark engine reads it by that URI),
        by default ``<file system type>://<path>``."""
        return cls(text=uri or f"{fs.type_name}://{path.lstrip('/')}", fs=fs, path=path)

    # -- what it is --------------------------------------------------------------------------
    def __str__(self) -> str:
        return str(self.local) if self.local is not None else self.text

    @property
    def name(self) -> str:
        """The last part of the path (``users.csv``)."""
        if self.local is not None:
            return self.local.name
        return posixpath.basename(self.path.rstrip("/"))

    @property
    def local_path(self) -> Path | None:
        """The path on this machine's file system (a plain path or a ``file://`` URI), else
        None (a remote file system)."""
        if self.local is not None:
            return self.local
        if isinstance(self.fs, pafs.LocalFileSystem):
            return Path(self.path)
        return None

    @property
    def lineage_location(self) -> str | Path:
        """What OpenLineage naming is given: the local path, or the URI."""
        return self.local if self.local is not None else self.text

    def child(self, name: str) -> InputLocation:
        """The file ``name`` inside this folder."""
        if self.local is not None:
            return InputLocation.of_path(self.local / name)
        return InputLocation(
            text=f"{self.text.rstrip('/')}/{name}",
            fs=self.fs,
            path=f"{self.path.rstrip('/')}/{name}",
        )

    # -- questions ---------------------------------------------------------------------------
    def _info(self) -> pafs.FileInfo:
        assert self.fs is not None
        try:
            return self.fs.get_file_info(self.path)
        except (pa.ArrowException, OSError) as e:
            raise InputError(
                f"{self}: cannot be reached ({_first_line(e)})",
                hint="check the URI, the network, and the file system's credentials "
                "(configured outside the URI)",
            ) from None

    def exists(self) -> bool:
        if self.local is not None:
            return self.local.exists()
        return bool(self._info().type != pafs.FileType.NotFound)

    def is_file(self) -> bool:
        if self.local is not None:
            return self.local.is_file()
        return bool(self._info().type == pafs.FileType.File)

    def is_dir(self) -> bool:
        if self.local is not None:
            return self.local.is_dir()
        return bool(self._info().type == pafs.FileType.Directory)

    def size(self) -> int:
        """The file's size in bytes."""
        if self.local is not None:
            return self.local.stat().st_size
        info = self._info()
        return int(info.size or 0)

    # -- reading -----------------------------------------------------------------------------
    def open_binary(self) -> BinaryIO:
        """The file's bytes, read from the start (a buffered stream: ``readline``, iteration
        by line and ``read(n)`` work on every file system)."""
        if self.local is not None:
            return self.local.open("rb")
        assert self.fs is not None
        try:
            stream = self.fs.open_input_stream(self.path)
        except (pa.ArrowException, OSError) as e:
            raise InputError(
                f"{self}: cannot be opened ({_first_line(e)})",
                hint="check that the file exists and that the file system's credentials "
                "allow reading it",
            ) from None
        return io.BufferedReader(stream)

    def arrow_source(self) -> tuple[str, pafs.FileSystem | None]:
        """``(path, file system)`` for pyarrow readers (None: a plain local path)."""
        if self.local is not None:
            return str(self.local), None
        return self.path, self.fs


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _check_secrets(uri: str) -> None:
    u = urlsplit(uri)
    if u.password is not None:
        raise InputError(
            f"the input URI {redact_uri(uri)} carries a password", hint=_HINT_CREDENTIALS
        )
    secret = [k for k, _ in parse_qsl(u.query) if any(w in k.lower() for w in _SECRET_WORDS)]
    if secret:
        raise InputError(
            f"the input URI {redact_uri(uri)} carries credentials in its query "
            f"({', '.join(sorted(set(secret)))})",
            hint=_HINT_CREDENTIALS,
        )


def input_location(value: str | os.PathLike[str] | InputLocation) -> InputLocation:
    """``value`` as an :class:`InputLocation`: a local path stays a path; a URI is opened with
    ``pyarrow.fs.FileSystem.from_uri`` (``s3a://`` and ``s3n://``, Spark's names, as
    ``s3://``). Raises :class:`InputError` for a URI with credentials or a file system pyarrow
    cannot open."""
    if isinstance(value, InputLocation):
        return value
    text = value if isinstance(value, str) else os.fspath(value)
    if not isinstance(value, str) or not is_uri(text):
        return InputLocation.of_path(value)
    _check_secrets(text)
    scheme = text.split("://", 1)[0].lower()
    arrow_uri = _ARROW_SCHEME[scheme] + text[len(scheme) :] if scheme in _ARROW_SCHEME else text
    try:
        fs, path = pafs.FileSystem.from_uri(arrow_uri)
    except (pa.ArrowException, OSError, ValueError, NotImplementedError, ImportError) as e:
        raise InputError(
            f"{redact_uri(text)}: pyarrow cannot open this file system ({_first_line(e)})",
            hint="give a local path or a URI pyarrow opens (file://, hdfs:// with libhdfs and "
            "HADOOP_HOME, s3://, gs://, abfss://) and configure its credentials outside the URI",
        ) from None
    return InputLocation(text=text, fs=fs, path=path)


def common_parent(locations: list[InputLocation]) -> InputLocation | None:
    """The deepest folder holding every location, when they are all on one file system
    (all local paths, or URIs of one scheme and authority); else None."""
    if not locations:
        return None
    if all(loc.local is not None for loc in locations):
        parents = [str(loc.local.resolve().parent) for loc in locations if loc.local]
        return InputLocation.of_path(os.path.commonpath(parents))
    first = locations[0]
    if any(loc.fs is None or not loc.fs.equals(first.fs) for loc in locations):
        return None
    roots = {_split(loc)[0] for loc in locations}
    if len(roots) != 1:
        return None
    folder = posixpath.commonpath([posixpath.dirname(_split(loc)[1]) for loc in locations])
    rel = posixpath.relpath(_split(first)[1], folder)
    fs_path = first.path[: -len(rel)].rstrip("/") if first.path.endswith(rel) else ""
    root = roots.pop()
    return InputLocation(text=root + folder, fs=first.fs, path=fs_path)


def _split(loc: InputLocation) -> tuple[str, str]:
    """``(scheme://authority, path)`` of a URI location, the path always from the root."""
    u = urlsplit(loc.text)
    return f"{u.scheme}://{u.netloc}", "/" + u.path.lstrip("/")


def relative_name(loc: InputLocation, parent: InputLocation) -> str:
    """``loc``'s path relative to the folder ``parent`` (from :func:`common_parent`)."""
    if loc.local is not None and parent.local is not None:
        return str(loc.local.resolve().relative_to(parent.local))
    return posixpath.relpath(_split(loc)[1], _split(parent)[1])
