"""OpenLineage JSON Schema validation for tests: the vendored core and facet schemas
(tests/lineage/schemas, offline) and our privacy facet's schema in one registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from privacy_profile.lineage import PRIVACY_FACET_NAME, privacy_facet_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "lineage" / "schemas"
CORE_URIS = (
    "https://openlineage.io/spec/2-0-2/OpenLineage.json",
    "https://openlineage.io/spec/1-0-2/OpenLineage.json",
)
FACET_FILES = {
    "schema": "SchemaDatasetFacet.json",
    "columnLineage": "ColumnLineageDatasetFacet.json",
    "tags": "TagsDatasetFacet.json",
}
EXAMPLE_EVENTS = Path(__file__).resolve().parents[2] / "docs/examples/lineage/lineage/events.jsonl"


def _registry() -> Registry:
    resources: list[tuple[str, Resource]] = []
    core = Resource.from_contents(json.loads((SCHEMAS / "OpenLineage.json").read_text()))
    resources += [(uri, core) for uri in CORE_URIS]
    for path in SCHEMAS.glob("*.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    ours = privacy_facet_schema()
    resources.append((ours["$id"], Resource.from_contents(ours)))
    return Registry().with_resources(resources)  # no retrieve: nothing is fetched


REGISTRY = _registry()


def validator(uri: str, definition: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{uri}#/$defs/{definition}"}, registry=REGISTRY, format_checker=FormatChecker()
    )


RUN_EVENT = validator(CORE_URIS[0], "RunEvent")


def _facet_id(name: str) -> str:
    return str(json.loads((SCHEMAS / name).read_text())["$id"])


def validate_event(event: dict[str, Any]) -> None:
    RUN_EVENT.validate(event)
    assert event["schemaURL"].startswith(CORE_URIS[0])
    for ds in [*event["inputs"], *event["outputs"]]:
        for key, facet in ds["facets"].items():
            defn = "TagsDatasetFacet" if key == "tags" else FACET_FILES[key].removesuffix(".json")
            validator(_facet_id(FACET_FILES[key]), defn).validate(facet)
    for key, facet in event["run"]["facets"].items():
        if key == PRIVACY_FACET_NAME:
            validator(privacy_facet_schema()["$id"], "PrivacyRunFacet").validate(facet)
        elif key == "errorMessage":
            validator(_facet_id("ErrorMessageRunFacet.json"), "ErrorMessageRunFacet").validate(
                facet
            )
        else:
            pytest.fail(f"unexpected run facet {key}")
