"""The ingestion backend seam: how the per-chunk stages of one data table are run (in this
process with pandas, or on a cluster by :mod:`privacy_profile.spark`); the stages themselves
(:class:`~privacy_profile.ingest.table_stage.TableProcessor`) are written once.

A backend receives the run context, the table, the consent gate decided once per user on the
driver and the table's report builder; it returns the table's processor after every record went
through the per-chunk stages (outputs, quarantine, tokens and counts filled, raw identifiers in
the run's index), exactly as the pandas loop leaves it. The row checks and k-anonymity then run
on the driver for every table (:func:`~privacy_profile.ingest.sanitize.sanitize`), except for a
table whose rows the backend kept where it computed them (``TableProcessor.staged``): its
backend checks them there (``finish_table``) and the result holds them as a
:class:`~privacy_profile.ingest.tables.RemoteTable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from privacy_profile.ingest.consent import PreparedGate
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.table_stage import IngestRun, TableProcessor, read_chunks
from privacy_profile.ingest.tables import RemoteTable
from privacy_profile.policy.model import Table

__all__ = ["FinishedTable", "IngestBackend", "PandasBackend"]


@dataclass(frozen=True)
class FinishedTable:
    """A table whose rows an engine kept, once checked there (``IngestBackend.finish_table``):
    the rows (None when none is left), the quarantine evidence of the rows the checks
    rejected (record order, no raw value) and the raw identifiers found in a kept column
    (``"column (LABEL, n values)"``: the run must be refused)."""

    table: RemoteTable | None
    quarantine: pd.DataFrame
    leaks: tuple[str, ...] = ()


class IngestBackend(Protocol):
    """Runs the per-chunk stages of one data table (the subjects table always runs on the
    driver: it feeds the minors rule and is small)."""

    @property
    def name(self) -> str: ...

    def describe(self) -> dict[str, str]:
        """What the lineage records about the backend (engine name, application id)."""
        ...

    def run_table(
        self, run: IngestRun, name: str, spec: Table, gate: PreparedGate, rb: TableReportBuilder
    ) -> TableProcessor:
        """The table's processor; its ``staged`` is set when the backend kept the rows."""
        ...

    def finish_table(
        self, run: IngestRun, proc: TableProcessor, suppressed: frozenset[str]
    ) -> FinishedTable:
        """The per-row checks, the exclusion of the ``suppressed`` subjects and the search
        for raw identifiers, where the rows of ``proc.staged`` are; once every table was read
        (every identifier is indexed)."""
        ...

    def cleanup(self) -> None:
        """Delete the rows the backend kept (the end of a run)."""
        ...


class PandasBackend:
    """In this process: read the table in chunks and process them one after the other."""

    name = "pandas"

    def describe(self) -> dict[str, str]:
        return {"engine": self.name}

    def run_table(
        self, run: IngestRun, name: str, spec: Table, gate: PreparedGate, rb: TableReportBuilder
    ) -> TableProcessor:
        proc = TableProcessor(run, name, spec, gate, rb)
        for v in read_chunks(run, name, spec, rb):
            proc.process(v)
        return proc

    def finish_table(
        self, run: IngestRun, proc: TableProcessor, suppressed: frozenset[str]
    ) -> FinishedTable:
        raise TypeError("the pandas backend keeps no rows: its tables are finished in sanitize")

    def cleanup(self) -> None:
        return None
