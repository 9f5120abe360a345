"""Dataset names follow the OpenLineage naming spec; the reference is openlineage-python's own
naming classes (a dev dependency), so the two agree name for name."""

from __future__ import annotations

from pathlib import Path

import pytest
from openlineage.client.naming import dataset as ol

from privacy_profile.lineage.naming import DatasetName, dataset_name


@pytest.mark.parametrize(
    ("location", "reference"),
    [
        ("/data/shop/users.csv", ol.LocalFileSystem(path="/data/shop/users.csv")),
        ("file:///data/shop/users.csv", ol.LocalFileSystem(path="/data/shop/users.csv")),
        ("file:///data/%E4%BC%9A%E5%91%98.csv", ol.LocalFileSystem(path="/data/会员.csv")),
        (
            "hdfs://namenode:8020/shop/events",
            ol.HDFS(namenode_host="namenode", namenode_port="8020", path="/shop/events"),
        ),
        (
            "s3://shop-bucket/raw/orders.parquet",
            ol.S3(bucket_name="shop-bucket", object_key="raw/orders.parquet"),
        ),
        (
            "s3a://shop-bucket/raw/orders.parquet",
            ol.S3(bucket_name="shop-bucket", object_key="raw/orders.parquet"),
        ),
        (
            "gs://shop-bucket/raw/orders.parquet",
            ol.GCS(bucket_name="shop-bucket", object_key="raw/orders.parquet"),
        ),
    ],
)
def test_names_agree_with_openlineage_python(location: str, reference: ol.DatasetNaming) -> None:
    got = dataset_name(location)
    assert (got.namespace, got.name) == (reference.get_namespace(), reference.get_name())


def test_relative_paths_become_absolute_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    a = dataset_name("in/users.csv")
    b = dataset_name(tmp_path / "in" / ".." / "in" / "users.csv")
    assert a == b == DatasetName("file", f"{tmp_path}/in/users.csv")
    assert a.uri == f"file://{tmp_path}/in/users.csv"


def test_credentials_and_queries_never_reach_a_name() -> None:
    got = dataset_name("hdfs://alice:pw@nn:8020/shop/events?token=abc")
    assert got == DatasetName("hdfs://nn:8020", "/shop/events")
    assert "pw" not in got.uri and "token" not in got.uri


def test_azure_keeps_the_container() -> None:
    got = dataset_name("abfss://raw@shopacct.dfs.core.windows.net/orders/2026")
    assert got == DatasetName("abfss://raw@shopacct.dfs.core.windows.net", "orders/2026")


def test_the_published_facet_schema_is_the_packaged_one() -> None:
    """The privacy facet's `_schemaURL` points at the copy published in the repository; the
    two never differ (a changed facet gets a new version folder)."""
    import json

    from privacy_profile.lineage import privacy_facet_schema
    from privacy_profile.lineage.facets import PRIVACY_FACET_SCHEMA_ID

    root = Path(__file__).resolve().parents[2]
    rel = PRIVACY_FACET_SCHEMA_ID.split("/main/", 1)[1]
    assert rel == "docs/spec/facets/1-1-0/PrivacyRunFacet.json"
    published = json.loads((root / rel).read_text(encoding="utf-8"))
    assert published == privacy_facet_schema()
    assert published["$id"] == PRIVACY_FACET_SCHEMA_ID


def test_the_job_namespace_comes_from_the_policy(tmp_path: Path) -> None:
    from privacy_profile.errors import PolicyError
    from privacy_profile.policy import load_policy

    source = Path(__file__).resolve().parents[2] / "policies" / "wechat_shop.yaml"
    assert load_policy(source).lineage_namespace == "privacy_profile"  # the default
    custom = tmp_path / "p.yaml"
    custom.write_text(
        source.read_text(encoding="utf-8") + "\nlineage_namespace: marketing-data-team\n",
        encoding="utf-8",
    )
    assert load_policy(custom).lineage_namespace == "marketing-data-team"
    custom.write_text(
        source.read_text(encoding="utf-8") + "\nlineage_namespace: 'two words'\n",
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="lineage_namespace"):
        load_policy(custom)


def test_paths_in_events_are_not_pii_scanned_but_identifiers_in_them_are_refused(
    tmp_path: Path,
) -> None:
    """A folder such as `pytest-283` or `export-2026` next to a Chinese file name looks like a
    WeChat id to the scanner: dataset locations are checked for the run's identifiers only."""
    import pandas as pd

    from privacy_profile.errors import LeakDetectedError
    from privacy_profile.ingest import IdentifierIndex
    from privacy_profile.lineage import DatasetInfo, LineageRecorder, ReleaseGuard
    from privacy_profile.pii import PiiScanner

    run_id = "01900000-0000-7000-8000-0000000000cc"
    path = "/data/export-2026/订单.csv"
    scanner = PiiScanner()
    assert scanner.scan_texts([path])[0], "the scanner flags this path (the reason for the rule)"
    index = IdentifierIndex()
    index.add(pd.Series(["13912345678"]), "user.contact.phone_number")
    guard = ReleaseGuard(index, scanner=scanner.scan_texts)
    rec = LineageRecorder(tmp_path / "a", job_namespace="t", job_name="t", checker=guard)
    rec.start(run_id, [DatasetInfo(namespace="file", name=path)])  # not refused
    rec = LineageRecorder(tmp_path / "b", job_namespace="t", job_name="t", checker=guard)
    with pytest.raises(LeakDetectedError, match="phone"):
        rec.start(run_id, [DatasetInfo(namespace="file", name="/data/139-1234-5678/x.csv")])
    # elsewhere in an event the scanner still applies
    with pytest.raises(LeakDetectedError, match="PII"):
        guard.check_strings(["call 13912340000 now"], where="lineage event START")
