"""Events validate against the OpenLineage JSON Schema (vendored, offline) and our facet schema,
and are the JSON openlineage-python would write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _lineage_helpers import Run, facet_for_run, inputs, outputs
from _support.lineage_example import EXAMPLE_RUN_ID
from _support.openlineage_schema import EXAMPLE_EVENTS, validate_event, validator

from privacy_profile.errors import InputError, PrivacyProfileError
from privacy_profile.ingest import IdentifierIndex
from privacy_profile.lineage import (
    PRIVACY_FACET_NAME,
    LineageRecorder,
    ReleaseGuard,
    new_run_id,
    privacy_facet_schema,
    read_events,
)


def _checker() -> ReleaseGuard:
    return ReleaseGuard(IdentifierIndex())


def test_run_events_validate(run: Run) -> None:
    events = read_events(run.events)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        validate_event(event)
    complete = events[1]
    assert complete["run"]["runId"] == run.run_id
    facet = complete["run"]["facets"][PRIVACY_FACET_NAME]
    assert [m["epsilon"] for m in facet["dpMechanisms"]] == [1.0, 0.5]
    out = complete["outputs"][0]["facets"]
    users = out["columnLineage"]["fields"]["users"]["inputFields"][0]
    assert [t["subtype"] for t in users["transformations"]] == ["TRANSFORMATION", "AGGREGATION"]
    assert all(t["masking"] for t in users["transformations"])
    segment = out["columnLineage"]["fields"]["segment"]["inputFields"][0]
    assert segment["transformations"][0]["masking"] is False
    tag_list = complete["inputs"][0]["facets"]["tags"]["tags"]
    tags = {(t["field"], t["key"]): t["value"] for t in tag_list}
    assert tags[("openid", "pii")] == "true"
    assert tags[("openid", "category")] == "user.unique_id.wechat_openid"
    assert tags[("amount", "pii")] == "false"


def test_example_events_validate() -> None:
    events = read_events(EXAMPLE_EVENTS)
    assert events[0]["run"]["runId"] == EXAMPLE_RUN_ID
    for event in events:
        validate_event(event)


def test_fail_event_validates_and_withholds_foreign_messages(tmp_path: Path) -> None:
    rec = LineageRecorder(tmp_path, job_namespace="ns", job_name="job", checker=_checker())
    rec.start(new_run_id(), inputs())
    rec.fail(ValueError("could not convert '13912345678' to float"))
    events = read_events(rec.events_path)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    validate_event(events[1])
    message = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert "13912345678" not in message and message.startswith("ValueError")

    rec2 = LineageRecorder(tmp_path / "b", job_namespace="ns", job_name="job", checker=_checker())
    rec2.start(new_run_id(), inputs())
    rec2.fail(InputError("users.csv: column 'phone' is missing"))
    assert (
        "column 'phone' is missing"
        in read_events(rec2.events_path)[1]["run"]["facets"]["errorMessage"]["message"]
    )


def test_broken_facet_fails_our_schema(run: Run) -> None:
    complete = read_events(run.events)[1]
    facet = complete["run"]["facets"][PRIVACY_FACET_NAME]
    facet["dpMechanisms"][0]["epsilon"] = -1
    with pytest.raises(Exception, match="-1"):
        validator(privacy_facet_schema()["$id"], "PrivacyRunFacet").validate(facet)
    del complete["run"]["runId"]
    with pytest.raises(Exception, match="runId"):
        validator("https://openlineage.io/spec/2-0-2/OpenLineage.json", "RunEvent").validate(
            complete
        )


def test_recorder_order_is_enforced(tmp_path: Path) -> None:
    rec = LineageRecorder(tmp_path, job_namespace="ns", job_name="job", checker=_checker())
    with pytest.raises(PrivacyProfileError, match="not started"):
        rec.fail(RuntimeError())
    with pytest.raises(PrivacyProfileError, match="UUID"):
        rec.start("run-1", inputs())
    rec.start(new_run_id(), inputs())
    outs, lineage = outputs()
    rec.complete(outs, lineage, facet_for_run())
    with pytest.raises(PrivacyProfileError, match="already ended"):
        rec.fail(RuntimeError())


def test_identical_to_openlineage_python(run: Run) -> None:
    ol = pytest.importorskip("openlineage.client")
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent
    from openlineage.client.facet_v2 import (
        column_lineage_dataset as cl,
    )
    from openlineage.client.facet_v2 import (
        schema_dataset,
        tags_dataset,
    )
    from openlineage.client.generated.base import RunFacet
    from openlineage.client.serde import Serde

    assert ol is not None
    lines = run.events.read_text().splitlines()
    ours = [json.loads(line) for line in lines]
    producer = ours[0]["producer"]

    def ds_facets(ds: dict[str, Any]) -> dict[str, Any]:
        f = ds["facets"]
        out: dict[str, Any] = {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=x["name"], type=x["type"])
                    for x in f["schema"]["fields"]
                ],
                producer=producer,
            ),
            "tags": tags_dataset.TagsDatasetFacet(
                tags=[tags_dataset.TagsDatasetFacetFields(**t) for t in f["tags"]["tags"]],
                producer=producer,
            ),
        }
        if "columnLineage" in f:
            out["columnLineage"] = cl.ColumnLineageDatasetFacet(
                fields={
                    name: cl.Fields(
                        inputFields=[
                            cl.InputField(
                                namespace=i["namespace"],
                                name=i["name"],
                                field=i["field"],
                                transformations=[
                                    cl.Transformation(**t) for t in i["transformations"]
                                ],
                            )
                            for i in spec["inputFields"]
                        ]
                    )
                    for name, spec in f["columnLineage"]["fields"].items()
                },
                producer=producer,
            )
        return out

    for line, event in zip(lines, ours, strict=True):
        run_facets: dict[str, Any] = {}
        for key, body in event["run"]["facets"].items():
            extra = {k: v for k, v in body.items() if not k.startswith("_")}
            facet = RunFacet(producer=producer).with_additional_properties(**extra)
            facet._schemaURL = body["_schemaURL"]
            run_facets[key] = facet
        theirs = RunEvent(
            eventType=event["eventType"],
            eventTime=event["eventTime"],
            run=Run(runId=event["run"]["runId"], facets=run_facets),
            job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
            producer=producer,
            inputs=[
                InputDataset(namespace=d["namespace"], name=d["name"], facets=ds_facets(d))
                for d in event["inputs"]
            ],
            outputs=[
                OutputDataset(namespace=d["namespace"], name=d["name"], facets=ds_facets(d))
                for d in event["outputs"]
            ],
        )
        assert Serde.to_json(theirs) == line
