"""The ingestion backend seam: how the per-chunk stages of one data table are run (in this
process with pandas, or on a cluster by :mod:`privacy_profile.spark`); the stages themselves
(:class:`~privacy_profile.ingest.table_stage.TableProcessor`) are written once.

A backend receives the run context, the table, the consent gate decided once per user on the
driver and the table's report builder; it returns the table's sanitized frame, its masked
quarantine, its k-anonymity report and the activation tokens it produced, exactly as the
pandas loop does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from privacy_profile.ingest.consent import PreparedGate
from privacy_profile.ingest.report import TableReportBuilder
from privacy_profile.ingest.table_stage import IngestRun, TableProcessor, read_chunks
from privacy_profile.policy.model import Table

__all__ = ["IngestBackend", "PandasBackend", "TableOutcome"]


@dataclass(frozen=True)
class TableOutcome:
    """What one data table produced (see :meth:`TableProcessor.finish`)."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    k_anonymity: Any
    tokens: tuple[pd.DataFrame, ...]


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
    ) -> TableOutcome: ...


class PandasBackend:
    """In this process: read the table in chunks and process them one after the other."""

    name = "pandas"

    def describe(self) -> dict[str, str]:
        return {"engine": self.name}

    def run_table(
        self, run: IngestRun, name: str, spec: Table, gate: PreparedGate, rb: TableReportBuilder
    ) -> TableOutcome:
        proc = TableProcessor(run, name, spec, gate, rb)
        for v in read_chunks(run, name, spec, rb):
            proc.process(v)
        frame, q, kr = proc.finish()
        return TableOutcome(frame, q, kr, tuple(proc.tokens))
