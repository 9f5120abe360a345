"""The ingestion backend seam: how the per-chunk stages of one data table are run (in this
process with pandas, or on a cluster by :mod:`privacy_profile.spark`); the stages themselves
(:class:`~privacy_profile.ingest.table_stage.TableProcessor`) are written once.

A backend receives the run context, the table, the consent gate decided once per user on the
driver and the table's report builder; it returns the table's processor after every record went
through the per-chunk stages (outputs, quarantine, tokens and counts filled, raw identifiers in
the run's index), exactly as the pandas loop leaves it. The row checks and k-anonymity then run
on the driver for every table (:func:`~privacy_profile.ingest.sanitize.sanitize`).
"""

from __future__ import annotations

from typing import Protocol

from privacy_profile.ingest.consent import PreparedGate
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.table_stage import IngestRun, TableProcessor, read_chunks
from privacy_profile.policy.model import Table

__all__ = ["IngestBackend", "PandasBackend"]


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
    ) -> TableProcessor: ...


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
