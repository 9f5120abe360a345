"""Where a run's raw tables come from: a folder, a file per table, or a DataFrame per table.
A table's file may be a directory of part files (a Spark or Hive export; see
:mod:`privacy_profile.ingest.parts`), read as one table.

:func:`resolve_inputs` turns what an API caller passes (a folder path or URI, a mapping of
table name to path or URI, a mapping of table name to pandas DataFrame) into
:class:`InputTables`, checking every table name and value type before anything is read (a
folder or file given as a URI is an :class:`~privacy_profile.ingest.locations.InputLocation`
on the file system pyarrow opens for it); :func:`resolve_policy` does the same for a
:class:`LoadedPolicy`, a :class:`Policy` or a policy file; :func:`normalize_run_args` does both
(the engine's entry calls it). Wrong types are an :class:`InputError` or a :class:`PolicyError`
naming what was given and what is accepted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from privacy_profile.errors import InputError, PolicyError
from privacy_profile.ingest.locations import (
    InputLocation,
    common_parent,
    input_location,
    relative_name,
)
from privacy_profile.ingest.readers import (
    DEFAULT_BLOCK_BYTES,
    DEFAULT_CHUNK_ROWS,
    RawChunk,
    read_table,
)
from privacy_profile.policy.loader import (
    LoadedPolicy,
    load_policy_file,
    policy_digest,
    policy_json,
)
from privacy_profile.policy.model import Policy, Table

__all__ = [
    "InputTables",
    "InputsLike",
    "PolicyLike",
    "normalize_run_args",
    "resolve_inputs",
    "resolve_policy",
]

InputsLike: TypeAlias = "str | os.PathLike[str] | InputLocation | Mapping[str, Any] | InputTables"
"""A folder (path or URI), a mapping of table name to file (path or URI), or of table name to
pandas DataFrame."""
PolicyLike: TypeAlias = "LoadedPolicy | Policy | str | os.PathLike[str]"

IN_MEMORY = "memory://privacy_profile"
"""The lineage namespace of tables given as DataFrames."""


@dataclass(frozen=True)
class InputTables:
    """The source of each table: a folder (files named as the policy says), explicit files,
    or in-memory DataFrames (never written anywhere)."""

    folder: InputLocation | None = None
    paths: Mapping[str, InputLocation] = field(default_factory=dict)
    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def location(self, name: str, spec: Table) -> InputLocation:
        """The file (or directory of part files) of table ``name`` (for DataFrames, a
        descriptive pseudo-path for messages)."""
        if name in self.frames:
            return InputLocation.of_path(f"<DataFrame {name}>")
        if name in self.paths:
            return self.paths[name]
        if self.folder is None:
            raise InputError(
                f"table {name!r} has no input: give a folder, or its file or DataFrame",
                hint="pass every table the policy declares",
            )
        return self.folder.child(spec.file_name(name))

    def has(self, name: str, spec: Table) -> bool:
        if name in self.frames:
            return True
        where = self.location(name, spec)
        return where.is_file() or where.is_dir()  # a file, or a directory of part files

    @property
    def namespace(self) -> str:
        """The lineage namespace of the inputs (the folder's URI, or in-memory)."""
        if self.folder is not None:
            return _as_uri(self.folder)
        parent = self._common_parent()
        if parent is not None:
            return _as_uri(parent)
        return IN_MEMORY

    def _common_parent(self) -> InputLocation | None:
        if not self.paths or self.frames:
            return None
        return common_parent(list(self.paths.values()))

    def dataset_name(self, name: str, spec: Table) -> str:
        """The dataset name lineage records for table ``name``."""
        if name in self.frames:
            return name
        parent = self._common_parent()
        if name in self.paths and self.folder is None and parent is not None:
            return relative_name(self.paths[name], parent)
        return self.location(name, spec).name

    def read(
        self,
        name: str,
        spec: Table,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        block_bytes: int = DEFAULT_BLOCK_BYTES,
    ) -> Iterator[RawChunk]:
        """Stream table ``name`` in chunks of string columns (see ``readers``)."""
        if name in self.frames:
            yield from _frame_chunks(self.frames[name], chunk_rows)
        else:
            yield from read_table(
                self.location(name, spec),
                name,
                spec,
                chunk_rows=chunk_rows,
                block_bytes=block_bytes,
            )


def _as_uri(loc: InputLocation) -> str:
    return loc.local.resolve().as_uri() if loc.local is not None else loc.text


def _as_strings(s: pd.Series) -> pd.Series:
    """A column as the strings a file would hold (ISO 8601 times, true/false, missing as NA)."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%dT%H:%M:%S").astype("string")
    elif pd.api.types.is_bool_dtype(s):
        out = s.map({True: "true", False: "false"}).astype("string")
    else:
        out = s.astype("string")
    return out.mask(s.isna())


def _frame_chunks(frame: pd.DataFrame, chunk_rows: int) -> Iterator[RawChunk]:
    names = tuple(str(c) for c in frame.columns)
    if len(frame) == 0:
        empty = pd.DataFrame({n: pd.Series([], dtype="string") for n in names})
        empty.index = pd.Index([], dtype=np.int64, name="_row")
        yield RawChunk(empty, names)
        return
    for start in range(0, len(frame), chunk_rows):
        part = frame.iloc[start : start + chunk_rows]
        cols = zip(names, part.columns, strict=True)
        df = pd.DataFrame({n: _as_strings(part[c]) for n, c in cols})
        df.index = pd.RangeIndex(start + 1, start + 1 + len(part), name="_row")
        yield RawChunk(df, names)


def _is_pathlike(v: object) -> bool:
    return isinstance(v, str | os.PathLike)


def _is_location(v: object) -> bool:
    return isinstance(v, str | os.PathLike | InputLocation)


def resolve_inputs(inputs: InputsLike, policy: Policy) -> InputTables:
    """Check and normalise ``inputs`` against the tables ``policy`` declares."""
    if isinstance(inputs, InputTables):
        return inputs
    if isinstance(inputs, pd.DataFrame):
        raise InputError(
            "inputs is a single DataFrame; give a mapping of table name to DataFrame",
            hint=f"pass {{{', '.join(repr(t) + ': ...' for t in policy.tables)}}}",
        )
    if _is_location(inputs):
        folder = input_location(inputs)  # type: ignore[arg-type]
        if not folder.is_dir():
            raise InputError(
                f"{folder}: the input folder does not exist or is not a folder",
                hint="give the folder holding one file per declared table",
            )
        return InputTables(folder=folder)
    if not isinstance(inputs, Mapping):
        raise InputError(
            f"inputs of type {type(inputs).__name__} are not accepted",
            hint="give a folder, a mapping of table name to file path, or a mapping of table "
            "name to pandas DataFrame",
        )
    declared = list(policy.tables)
    unknown = [str(k) for k in inputs if k not in policy.tables]
    missing = [t for t in declared if t not in inputs]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"undeclared table(s) {', '.join(map(repr, unknown))}")
        if missing:
            parts.append(f"no input for declared table(s) {', '.join(map(repr, missing))}")
        raise InputError(
            "inputs do not match the policy's tables: " + "; ".join(parts),
            hint=f"give exactly the declared tables: {', '.join(declared)}",
        )
    paths: dict[str, InputLocation] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, value in inputs.items():
        if isinstance(value, pd.DataFrame):
            bad = [c for c in value.columns if not isinstance(c, str)]
            if bad:
                raise InputError(
                    f"DataFrame for table {name!r} has non-string column name(s) "
                    f"{', '.join(map(repr, bad[:5]))}",
                    hint="name the columns as the policy declares them",
                )
            frames[name] = value
        elif _is_location(value):
            p = input_location(value)
            if not p.is_file() and not p.is_dir():
                raise InputError(
                    f"{p}: input file for table {name!r} not found",
                    hint="give an existing file (or a directory of its part files) for every "
                    "declared table",
                )
            paths[name] = p
        else:
            raise InputError(
                f"the input for table {name!r} is a {type(value).__name__}",
                hint="give a file path (or URI) or a pandas DataFrame for each table",
            )
    return InputTables(paths=paths, frames=frames)


def resolve_policy(policy: PolicyLike) -> LoadedPolicy:
    """A :class:`LoadedPolicy` from a loaded policy, a policy model or a policy file.

    An in-memory :class:`Policy` is digested from its canonical JSON (lineage records it).
    """
    if isinstance(policy, LoadedPolicy):
        return policy
    if isinstance(policy, Policy):
        digest = policy_digest(policy_json(policy).encode("utf-8"))
        return LoadedPolicy(policy=policy, path=Path("<in-memory policy>"), digest=digest)
    if _is_pathlike(policy):
        return load_policy_file(Path(policy))
    raise PolicyError(
        f"policy of type {type(policy).__name__} is not accepted",
        hint="give a LoadedPolicy (load_policy_file), a Policy, or the path of a policy file",
    )


def normalize_run_args(inputs: InputsLike, policy: PolicyLike) -> tuple[InputTables, LoadedPolicy]:
    """The policy and the inputs of a run, checked and normalised before anything happens."""
    loaded = resolve_policy(policy)
    return resolve_inputs(inputs, loaded.policy), loaded
