"""OpenLineage 2-0-2 run events (START, then COMPLETE or FAIL) as JSON lines.

The JSON is what openlineage-python's ``Serde.to_json`` writes for the same event (keys
sorted, empty facet maps kept, ``None`` dropped), one event per line, in
``run_dir/lineage/events.jsonl``. Events carry names, types, categories, counts and DP
parameters only; they never carry a data value (see :class:`LineageRecorder`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from privacy_profile._clock import Clock, utcnow
from privacy_profile.errors import AuditError, PrivacyProfileError
from privacy_profile.lineage.facets import (
    PRIVACY_FACET_NAME,
    PRIVACY_FACET_SCHEMA_URL,
    ColumnLineage,
    DatasetInfo,
    PrivacyRunFacet,
)
from privacy_profile.lineage.runlog import RunLog

__all__ = [
    "CHARGES_FACET_NAME",
    "COLUMN_LINEAGE_SCHEMA_URL",
    "DEFAULT_PRODUCER",
    "ERROR_MESSAGE_SCHEMA_URL",
    "OUTPUT_STATISTICS_SCHEMA_URL",
    "RUN_EVENT_SCHEMA_URL",
    "SCHEMA_FACET_SCHEMA_URL",
    "TAGS_FACET_SCHEMA_URL",
    "EventSender",
    "LineageRecorder",
    "StringChecker",
    "event_strings",
    "new_run_id",
    "read_events",
]

RUN_EVENT_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
)
COLUMN_LINEAGE_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
    "#/$defs/ColumnLineageDatasetFacet"
)
TAGS_FACET_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-0-0/TagsDatasetFacet.json#/$defs/TagsDatasetFacet"
)
ERROR_MESSAGE_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
)
PROCESSING_ENGINE_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-1-1/ProcessingEngineRunFacet.json"
    "#/$defs/ProcessingEngineRunFacet"
)
SPARK_APPLICATION_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-0-0/SparkApplicationDetailsRunFacet.json"
    "#/$defs/SparkApplicationDetailsRunFacet"
)
OUTPUT_STATISTICS_SCHEMA_URL = (
    "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
    "#/$defs/OutputStatisticsOutputDatasetFacet"
)
DEFAULT_PRODUCER = "https://github.com/privacy-profile/privacy_profile/tree/0.1.0"
CHARGES_FACET_NAME = "privacyProfile_charges"
"""The FAIL event's account of what a failed run charged (``dpMechanisms`` as in the privacy
facet, ``budget.dataset``, totals and the fate of its reservation)."""
CHARGES_FACET_SCHEMA_URL = (
    "https://privacy-profile.example/spec/facets/1-0-0/ChargesRunFacet.json#/$defs/ChargesRunFacet"
)


class EventSender(Protocol):
    """Anything that takes events for delivery without blocking (a
    :class:`~privacy_profile.lineage.transport.LineageSender`)."""

    def submit(self, event: Mapping[str, Any]) -> None: ...


class StringChecker(Protocol):
    """Anything that can refuse strings (the release guard's ``check_strings``)."""

    def check_strings(self, strings: Iterable[str], *, where: str, pii: bool = True) -> None: ...


def new_run_id() -> str:
    """A fresh UUIDv7 (time-ordered, as OpenLineage recommends) as a string."""
    ms = time.time_ns() // 1_000_000
    rand = secrets.randbits(74)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (rand >> 62) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def _serialize(event: dict[str, Any]) -> str:
    # identical to openlineage.client.serde.Serde.to_json (sort_keys, default separators)
    return json.dumps(event, sort_keys=True, allow_nan=False)


def event_strings(obj: Any) -> Iterator[str]:
    """Every string in an event (keys and values), for leak checks."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from event_strings(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from event_strings(v)


def _locations(event: dict[str, Any]) -> set[str]:
    """The dataset namespaces and names of an event: where the operator keeps the data (file
    paths), checked for identifiers but not by the PII scanner."""
    out: set[str] = set()
    for ds in [*event.get("inputs", []), *event.get("outputs", [])]:
        out.update((str(ds.get("namespace", "")), str(ds.get("name", ""))))
    return out


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """The events of an ``events.jsonl`` file; :class:`AuditError` if it is missing or a line
    is not a JSON object."""
    p = Path(path)
    if not p.is_file():
        raise AuditError(f"{p} does not exist", hint="give a run's lineage/events.jsonl")
    out: list[dict[str, Any]] = []
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            raise AuditError(f"{p}:{lineno}: not a JSON object (the event file was altered)")
        out.append(event)
    return out


class LineageRecorder:
    """Writes one run's OpenLineage events to ``run_dir/lineage/events.jsonl``.

    Call :meth:`start` once, then :meth:`complete` or :meth:`fail` once. With ``run_log``
    each event's SHA-256 is appended to the hash-chained run log. ``checker`` (required: the
    run's :class:`~privacy_profile.lineage.guard.ReleaseGuard`) checks every string of every
    event for raw identifiers, pseudonyms and PII before it is written. With ``sender`` (a
    :class:`~privacy_profile.lineage.transport.LineageSender`) each event, once written, is
    also queued for delivery to a lineage server; delivery never blocks or fails the run.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        job_namespace: str,
        job_name: str,
        producer: str = DEFAULT_PRODUCER,
        clock: Clock = utcnow,
        run_log: RunLog | None = None,
        checker: StringChecker,
        sender: EventSender | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.events_path = self.run_dir / "lineage" / "events.jsonl"
        self.job_namespace = job_namespace
        self.job_name = job_name
        self.producer = producer
        self._clock = clock
        self._run_log = run_log
        self._checker = checker
        self._sender = sender
        self._run_id: str | None = None
        self._inputs: list[DatasetInfo] = []
        self._engine: dict[str, str] = {}
        self._finished = False

    @property
    def run_id(self) -> str:
        if self._run_id is None:
            raise PrivacyProfileError("the lineage run has not started", hint="call start()")
        return self._run_id

    # -- facets ------------------------------------------------------------------------------
    def _facet(self, schema_url: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"_producer": self.producer, "_schemaURL": schema_url, **body}

    def _dataset_facets(self, ds: DatasetInfo) -> dict[str, Any]:
        if not ds.fields:
            return {}
        fields = []
        tags = []
        for f in ds.fields:
            entry: dict[str, Any] = {"fields": [], "name": f.name, "type": f.type}
            if f.description:
                entry["description"] = f.description
            fields.append(entry)
            for key, value in (
                ("category", f.category),
                ("pii", "true" if f.pii else "false"),
                ("sensitive", "true" if f.sensitive else "false"),
            ):
                tags.append({"field": f.name, "key": key, "source": "POLICY", "value": value})
        return {
            "schema": self._facet(SCHEMA_FACET_SCHEMA_URL, {"fields": fields}),
            "tags": self._facet(TAGS_FACET_SCHEMA_URL, {"tags": tags}),
        }

    def _column_lineage_facet(self, entries: Sequence[ColumnLineage]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for e in entries:
            merged: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
            for s in e.sources:
                merged.setdefault((s.namespace, s.name, s.field), []).append(
                    {
                        "description": s.transform.description,
                        "masking": s.transform.masking,
                        "subtype": s.transform.subtype,
                        "type": s.transform.ol_type,
                    }
                )
            fields[e.field] = {
                "inputFields": [
                    {"field": f, "name": n, "namespace": ns, "transformations": ts}
                    for (ns, n, f), ts in merged.items()
                ]
            }
        return self._facet(COLUMN_LINEAGE_SCHEMA_URL, {"dataset": [], "fields": fields})

    def _input(self, ds: DatasetInfo) -> dict[str, Any]:
        return {
            "facets": self._dataset_facets(ds),
            "inputFacets": {},
            "name": ds.name,
            "namespace": ds.namespace,
        }

    def _output(self, ds: DatasetInfo, lineage: Sequence[ColumnLineage]) -> dict[str, Any]:
        facets = self._dataset_facets(ds)
        mine = [c for c in lineage if c.output == ds.name]
        if mine:
            facets["columnLineage"] = self._column_lineage_facet(mine)
        output_facets: dict[str, Any] = {}
        if ds.row_count is not None:
            stats: dict[str, Any] = {"fileCount": 1, "rowCount": ds.row_count}
            if ds.size_bytes is not None:
                stats["size"] = ds.size_bytes
            output_facets["outputStatistics"] = self._facet(OUTPUT_STATISTICS_SCHEMA_URL, stats)
        return {
            "facets": facets,
            "name": ds.name,
            "namespace": ds.namespace,
            "outputFacets": output_facets,
        }

    def _event(
        self,
        event_type: str,
        *,
        run_facets: dict[str, Any],
        outputs: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return {
            "eventTime": self._clock().isoformat(),
            "eventType": event_type,
            "inputs": [self._input(ds) for ds in self._inputs],
            "job": {"facets": {}, "name": self.job_name, "namespace": self.job_namespace},
            "outputs": outputs,
            "producer": self.producer,
            "run": {"facets": {**self._engine_facets(), **run_facets}, "runId": self.run_id},
            "schemaURL": RUN_EVENT_SCHEMA_URL,
        }

    def _engine_facets(self) -> dict[str, Any]:
        """OpenLineage's ``processing_engine`` facet and, on Spark, the application's id."""
        e = self._engine
        if not e:
            return {}
        out = {
            "processing_engine": self._facet(
                PROCESSING_ENGINE_SCHEMA_URL,
                {"name": e["engine"], "version": e.get("spark_version", "")},
            )
        }
        if "spark_application_id" in e:
            out["spark_applicationDetails"] = self._facet(
                SPARK_APPLICATION_SCHEMA_URL,
                {"applicationId": e["spark_application_id"], "master": e.get("spark_master", "")},
            )
        return out

    def _emit(self, event: dict[str, Any]) -> dict[str, Any]:
        where = f"lineage event {event['eventType']}"
        locations = _locations(event)
        self._checker.check_strings(
            (x for x in event_strings(event) if x not in locations), where=where
        )
        self._checker.check_strings(locations, where=where, pii=False)
        line = _serialize(event)
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.events_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        if self._run_log is not None:
            self._run_log.append(
                self.run_id,
                "lineage_event",
                {
                    "eventType": event["eventType"],
                    "file": str(self.events_path.name),
                    "sha256": "sha256:" + hashlib.sha256(line.encode("utf-8")).hexdigest(),
                },
            )
        if self._sender is not None:  # after the file: the file is the record
            self._sender.submit(event)
        return event

    # -- the run -----------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """True once COMPLETE or FAIL has been emitted."""
        return self._finished

    def start(
        self,
        run_id: str,
        inputs: Sequence[DatasetInfo],
        *,
        engine: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Emit START for ``run_id`` (a UUID) reading ``inputs``; ``engine`` (an ingest
        backend's ``describe()``, e.g. Spark's application id) goes into every event."""
        if self._run_id is not None:
            raise PrivacyProfileError("the lineage run has already started")
        try:
            uuid.UUID(run_id)
        except (ValueError, TypeError, AttributeError):
            raise PrivacyProfileError(
                "the run id must be a UUID", hint="use lineage.new_run_id()"
            ) from None
        self._run_id = run_id
        self._inputs = list(inputs)
        self._engine = dict(engine or {})
        return self._emit(self._event("START", run_facets={}, outputs=[]))

    def complete(
        self,
        outputs: Sequence[DatasetInfo],
        column_lineage: Sequence[ColumnLineage],
        privacy: PrivacyRunFacet,
    ) -> dict[str, Any]:
        """Emit COMPLETE with the outputs, their column lineage and the privacy facet."""
        self._finish()
        names = {o.name for o in outputs}
        unknown = sorted({c.output for c in column_lineage} - names)
        if unknown:
            raise PrivacyProfileError(
                f"column lineage names outputs that are not in the run: {', '.join(unknown)}"
            )
        facet = self._facet(PRIVACY_FACET_SCHEMA_URL, privacy.to_json())
        event = self._emit(
            self._event(
                "COMPLETE",
                run_facets={PRIVACY_FACET_NAME: facet},
                outputs=[self._output(o, column_lineage) for o in outputs],
            )
        )
        self._finished = True
        return event

    def fail(
        self, error: BaseException, *, charged: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Emit FAIL. Only our own errors' messages are kept (they never carry data values);
        any other error is recorded by its type name alone. ``charged`` (the budget the run
        charged: ``summary``, ``dpMechanisms``, ...) becomes the :data:`CHARGES_FACET_NAME`
        facet and its summary ends the message."""
        self._finish()
        if isinstance(error, PrivacyProfileError):
            message = f"{type(error).__name__}: {error.message}"
        else:
            message = f"{type(error).__name__} (message withheld: it may quote data)"
        if charged is not None and charged.get("summary"):
            message += f" [{charged['summary']}]"
        facet = self._facet(
            ERROR_MESSAGE_SCHEMA_URL, {"message": message, "programmingLanguage": "python"}
        )
        run_facets = {"errorMessage": facet}
        if charged is not None:
            run_facets[CHARGES_FACET_NAME] = self._facet(CHARGES_FACET_SCHEMA_URL, dict(charged))
        event = self._emit(self._event("FAIL", run_facets=run_facets, outputs=[]))
        self._finished = True
        return event

    def _finish(self) -> None:
        _ = self.run_id
        if self._finished:
            raise PrivacyProfileError("the lineage run has already ended")
