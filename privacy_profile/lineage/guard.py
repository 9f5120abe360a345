"""The release guard: nothing leaves if it carries an identity.

Before any marketing output is written, :meth:`ReleaseGuard.release` checks every cell,
header and JSON leaf of every output for

(a) a raw identifier value of the input, anywhere inside a cell: the guard asks the run's
    :class:`~privacy_profile.ingest.identifiers.IdentifierIndex` (its required collaborator,
    filled by ingestion with keyed digests of every raw identifier it read, normalised per
    category), which searches each cell's normalised substrings (a phone inside
    ``call 139-1234-5678 now``, an upper-case openid, a nickname inside a note, an id inside a
    URL or a JSON string);
(b) a pseudonym or token: an exact keyed-hash match against the run's pseudonyms, or a string
    shaped like one (>= 128 bits of hex, base32 or base64/base64url, or a UUID);
(c) a finding of the PII scanner (any callable ``texts -> list[list[finding]]``, e.g.
    ``privacy_profile.pii.PiiScanner().scan_texts``).

If anything is found it raises :class:`~privacy_profile.errors.LeakDetectedError` naming the
output, column, row and identifier category of each leak (never the value), logs the same to
the run log when one is given, and writes nothing. Otherwise it writes every output
atomically (temporary files, then ``os.replace``) and records each file's SHA-256 in the run
log. :meth:`ReleaseGuard.check_identifiers` checks internal evidence that holds pseudonyms or
tokens by design (quarantined rows, activation audiences) for raw identifiers only.

64-bit digests can collide, which can only refuse a clean output (fail closed); short values
are not indexed; see docs/lineage.md for the limits.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import math
import os
import re
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest.identifiers import IdentifierIndex
from privacy_profile.lineage.output_files import (
    Output,
    cell_text,
    output_cells,
    read_output,
    serialize_output,
)
from privacy_profile.lineage.runlog import RunLog

__all__ = [
    "Leak",
    "LeakKind",
    "ReleaseGuard",
    "Scanner",
    "describe_leaks",
    "looks_like_token",
]

log = logging.getLogger(__name__)

Scanner = Callable[[Sequence[str]], Sequence[Sequence[Any]]]

_MAX_REPORTED = 20
_TOKEN_SPLIT = re.compile(r"[^0-9A-Za-z_\-+/=]+")

_HEX = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_B32 = re.compile(r"(?<![A-Z2-7])[A-Z2-7]{26,}=*(?![A-Z2-7])")
_B64 = re.compile(r"(?<![A-Za-z0-9_\-+/])[A-Za-z0-9_\-+/]{22,}={0,2}(?![A-Za-z0-9_\-+/])")


class LeakKind(enum.Enum):
    RAW_IDENTIFIER = "raw identifier value of the input (keyed-hash match)"
    PSEUDONYM = "pseudonym of this run (keyed-hash match)"
    TOKEN_SHAPED = "pseudonym/token-shaped string (>= 128-bit hex, base32, base64 or UUID)"
    PII = "PII finding"


@dataclass(frozen=True)
class Leak:
    """Where a leak is (never what it is)."""

    output: str
    column: str
    row: int | None
    kind: LeakKind
    detail: str = ""

    def describe(self) -> str:
        where = f"output {self.output!r}, column {self.column!r}"
        if self.row is not None:
            where += f", row {self.row}"
        what = self.kind.value + (f": {self.detail}" if self.detail else "")
        return f"{where}: {what}"

    def to_json(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "column": self.column,
            "row": self.row,
            "kind": self.kind.name,
            "detail": self.detail,
        }


def _entropy(s: str) -> float:
    counts = Counter(s)
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _b64_like(s: str) -> bool:
    core = s.rstrip("=")
    if not (
        any(c.isupper() for c in core)
        and any(c.islower() for c in core)
        and any(c.isdigit() for c in core)
    ):
        return False
    # Labels such as "RFM_Champions_2026Q1" are words joined by separators; a random token
    # has a long run without separators and high entropy.
    longest = max(re.split(r"[_\-]", core), key=len)
    return len(longest) >= 16 and _entropy(core) >= 3.8


def looks_like_token(text: str) -> bool:
    """True if ``text`` contains a string shaped like a >= 128-bit pseudonym or token."""
    if _HEX.search(text) or _UUID.search(text):
        return True
    for m in _B32.finditer(text):
        s = m.group(0).rstrip("=")
        if any(c.isdigit() for c in s) and any(c.isalpha() for c in s):
            return True
    return any(_b64_like(m.group(0)) for m in _B64.finditer(text))


class ReleaseGuard:
    """Checks outputs for identities before they are written; see the module docstring.

    ``identifiers`` is the run's identifier index (required: ingestion fills it while reading
    the input; the guard only reads it). Feed the guard the pseudonyms the run produces
    (:meth:`remember_pseudonyms`); only keyed hashes are kept, under a key drawn per guard
    that lives in memory only.
    """

    def __init__(
        self,
        identifiers: IdentifierIndex,
        *,
        scanner: Scanner | None = None,
        detect_token_shapes: bool = True,
        public_values: Iterable[str] = (),
    ) -> None:
        if not isinstance(identifiers, IdentifierIndex):
            raise TypeError("the release guard needs the run's IdentifierIndex")
        self.identifiers = identifiers
        self._key = secrets.token_bytes(32)
        self._pseudonyms: set[bytes] = set()
        self._public: set[str] = set()
        self.scanner = scanner
        self.detect_token_shapes = detect_token_shapes
        self.allow_public(public_values)

    @classmethod
    def for_run(
        cls,
        identifiers: IdentifierIndex,
        *,
        pseudonyms: Iterable[Any] = (),
        scanner: Scanner | None = None,
        detect_token_shapes: bool = True,
        public_values: Iterable[str] = (),
    ) -> ReleaseGuard:
        """A guard for one run over its identifier index.

        ``public_values`` are exact strings known to be public although token-shaped, such as
        the run id that marketing outputs carry for traceability."""
        guard = cls(
            identifiers,
            scanner=scanner,
            detect_token_shapes=detect_token_shapes,
            public_values=public_values,
        )
        guard.remember_pseudonyms(pseudonyms)
        return guard

    def __repr__(self) -> str:  # never show the key
        return (
            f"ReleaseGuard(identifiers={self.identifiers!r}, "
            f"pseudonym_hashes={len(self._pseudonyms)}, scanner={self.scanner is not None})"
        )

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("ReleaseGuard cannot be pickled (it holds a secret key)")

    def _h(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).digest()

    # -- what to look for ------------------------------------------------------------------------
    def allow_public(self, values: Iterable[str]) -> None:
        """Exempt these exact strings from the token-shape check (never from the raw-identifier,
        pseudonym or PII checks)."""
        self._public.update(str(v).strip() for v in values)

    def remember_pseudonyms(self, values: Iterable[Any]) -> None:
        """Keep keyed hashes of pseudonyms and tokens produced in the run."""
        for value in values:
            text = cell_text(value)
            if text:
                self._pseudonyms.add(self._h(text.strip()))

    @property
    def pseudonym_count(self) -> int:
        return len(self._pseudonyms)

    # -- checks ----------------------------------------------------------------------------------
    def _raw_matches(self, texts: Sequence[str]) -> list[list[str]]:
        """Per text, the identifier categories of the input found inside it."""
        found: list[list[str]] = [[] for _ in texts]
        for label, mask in sorted(self.identifiers.find(texts).items()):
            for i in mask.nonzero()[0].tolist():
                found[i].append(label)
        return found

    def _pseudonym_match(self, text: str) -> bool:
        if not self._pseudonyms:
            return False
        if self._h(text.strip()) in self._pseudonyms:
            return True
        return any(self._h(t) in self._pseudonyms for t in _TOKEN_SPLIT.split(text) if t)

    def _scanoutput_cells(
        self,
        cells: list[tuple[str, str, int | None, str]],
        *,
        token_shapes: bool = True,
        identities: bool = True,
    ) -> list[Leak]:
        """cells: (output, column, row, text). ``identities=False`` looks for raw identifiers
        only (internal evidence that carries pseudonyms and tokens by design)."""
        leaks: list[Leak] = []
        verdict: dict[str, list[tuple[LeakKind, str]]] = {}
        texts = sorted({c[3] for c in cells})
        for text, labels in zip(texts, self._raw_matches(texts), strict=True):
            found = [(LeakKind.RAW_IDENTIFIER, label) for label in labels]
            verdict[text] = found
            if not identities:
                continue
            if self._pseudonym_match(text):
                found.append((LeakKind.PSEUDONYM, ""))
            elif (
                token_shapes
                and self.detect_token_shapes
                and text.strip() not in self._public
                and looks_like_token(text)
            ):
                found.append((LeakKind.TOKEN_SHAPED, ""))
        if self.scanner is not None and identities:
            results = self.scanner(texts)
            if len(results) != len(texts):
                raise LeakDetectedError(
                    "the PII scanner returned a wrong number of results; nothing was written",
                    hint="check the scanner callable passed to the release guard",
                )
            for text, findings in zip(texts, results, strict=True):
                types = sorted({str(getattr(f, "entity_type", type(f).__name__)) for f in findings})
                if types:
                    verdict[text].append((LeakKind.PII, ", ".join(types)))
        for output, column, row, text in cells:
            for kind, detail in verdict[text]:
                leaks.append(Leak(output, column, row, kind, detail))
        return leaks

    def find_leaks(self, outputs: Mapping[str, Output]) -> list[Leak]:
        """Every leak in ``outputs`` (name -> DataFrame, JSON-like object or text)."""
        cells: list[tuple[str, str, int | None, str]] = []
        for name, obj in outputs.items():
            cells.extend(output_cells(name, obj))
        return self._scanoutput_cells(cells)

    def check(self, outputs: Mapping[str, Output]) -> None:
        """Raise :class:`LeakDetectedError` if any output leaks."""
        leaks = self.find_leaks(outputs)
        if leaks:
            raise _leak_error(leaks, what="release refused")

    def check_identifiers(self, outputs: Mapping[str, Output], *, what: str) -> None:
        """Raise :class:`LeakDetectedError` if any output holds a raw identifier of the input.

        For internal evidence that holds pseudonyms or tokens by design (quarantined rows,
        activation audiences): the pseudonym, token-shape and PII checks do not apply."""
        cells: list[tuple[str, str, int | None, str]] = []
        leaks: list[Leak] = []
        for name, obj in outputs.items():
            if isinstance(obj, pd.DataFrame):
                leaks.extend(self._frame_identifiers(name, obj))
            else:
                cells.extend(output_cells(name, obj))
        leaks.extend(self._scanoutput_cells(cells, identities=False))
        if leaks:
            raise _leak_error(leaks, what=f"{what} refused")

    def _frame_identifiers(self, name: str, frame: pd.DataFrame) -> list[Leak]:
        """Raw identifiers in a (large) table: each column's distinct values are looked up
        once, then the rows holding a hit are located (no per-cell Python loop)."""
        leaks = [
            Leak(name, "<header>", None, LeakKind.RAW_IDENTIFIER, label)
            for label, mask in sorted(
                self.identifiers.find([str(c) for c in frame.columns]).items()
            )
            for _ in mask.nonzero()[0]
        ]
        for col in frame.columns:
            s = frame[col].reset_index(drop=True)
            uniq = pd.unique(s.dropna())
            if pd.api.types.is_integer_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                texts: list[str | None] = np.asarray(uniq).astype(str).tolist()
            else:
                texts = [v if isinstance(v, str) else cell_text(v) for v in uniq]
            keep = [i for i, t in enumerate(texts) if t]
            found = self.identifiers.find([str(texts[i]) for i in keep])
            for label, mask in sorted(found.items()):
                values = [uniq[keep[i]] for i in mask.nonzero()[0].tolist()]
                for row in np.flatnonzero(s.isin(values).to_numpy(dtype=bool)).tolist():
                    leaks.append(Leak(name, str(col), row, LeakKind.RAW_IDENTIFIER, label))
        leaks.sort(key=lambda leak: (leak.column != "<header>", leak.row or 0))
        return leaks

    def check_strings(self, strings: Iterable[str], *, where: str) -> None:
        """Check loose strings (e.g. every string of a lineage event) for raw identifiers, the
        run's pseudonyms and PII. Token shapes are not flagged here: events legitimately hold
        UUID run ids and SHA-256 digests."""
        cells: list[tuple[str, str, int | None, str]] = [
            (where, "<string>", None, s) for s in strings if s
        ]
        leaks = self._scanoutput_cells(cells, token_shapes=False)
        if leaks:
            raise _leak_error(leaks, what=f"{where} refused")

    def find_leaks_in_files(self, paths: Iterable[str | Path]) -> list[Leak]:
        """Re-scan written files (.csv, .parquet, .json, anything else as text)."""
        return self.find_leaks({Path(p).name: read_output(Path(p)) for p in paths})

    def check_files(self, paths: Iterable[str | Path]) -> None:
        leaks = self.find_leaks_in_files(paths)
        if leaks:
            raise _leak_error(leaks, what="re-scan")

    # -- release ---------------------------------------------------------------------------------
    def release(
        self,
        outputs: Mapping[str, Output],
        out_dir: str | Path,
        *,
        run_log: RunLog | None = None,
        run_id: str | None = None,
    ) -> list[Path]:
        """Check every output, then write them all atomically into ``out_dir``.

        File names decide the format: ``.csv`` (UTF-8 with a byte-order mark) or ``.parquet``
        for a DataFrame, ``.json`` for a JSON-like object, anything else for text. On a leak
        nothing is written, the refusal is logged (and appended to ``run_log``), and
        :class:`LeakDetectedError` is raised.
        """
        if (run_log is None) != (run_id is None):
            raise ValueError("give both run_log and run_id, or neither")
        for name in outputs:
            if not name or Path(name).name != name or name.startswith("."):
                raise LeakDetectedError(
                    f"output name {name!r} is not a plain file name; nothing was written"
                )
        leaks = self.find_leaks(outputs)
        if leaks:
            err = _leak_error(leaks, what="release refused")
            log.error("%s", err.message)
            if run_log is not None and run_id is not None:
                run_log.append(
                    run_id,
                    "release_refused",
                    {"leaks": [leak.to_json() for leak in leaks[:_MAX_REPORTED]]},
                )
            raise err
        payloads = {name: serialize_output(name, obj) for name, obj in outputs.items()}
        target = Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".release-", dir=target))
        written: list[Path] = []
        try:
            for name, data in payloads.items():
                with open(tmp / name, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            for name in payloads:
                os.replace(tmp / name, target / name)
                written.append(target / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if run_log is not None and run_id is not None:
            for path in written:
                run_log.record_output(run_id, path)
        return written


def describe_leaks(leaks: Sequence[Leak]) -> str:
    """One line per leak (at most 20), never a value."""
    lines = [leak.describe() for leak in leaks[:_MAX_REPORTED]]
    if len(leaks) > _MAX_REPORTED:
        lines.append(f"... and {len(leaks) - _MAX_REPORTED} more")
    return "\n  ".join(lines)


def _leak_error(leaks: list[Leak], *, what: str) -> LeakDetectedError:
    n = len(leaks)
    return LeakDetectedError(
        f"{what}: {n} leak{'s' if n != 1 else ''} found; nothing was written:\n  "
        + describe_leaks(leaks),
        hint="marketing outputs hold only group-level DP aggregates: drop the columns named",
    )
