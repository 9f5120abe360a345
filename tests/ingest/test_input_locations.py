"""Inputs given as URIs (``file://`` here, the same code path as ``hdfs://``, ``s3://`` and
``gs://``: a pyarrow file system) give exactly what the plain paths give; a missing file, a
scheme pyarrow cannot open and a URI with credentials are clear, located errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.fs as pafs
import pytest

from privacy_profile.demo import generate_demo_data
from privacy_profile.errors import InputError
from privacy_profile.ingest import KeyRing, sanitize_to_dir
from privacy_profile.ingest.locations import InputLocation, input_location
from privacy_profile.ingest.readers import read_table
from privacy_profile.ingest.sources import resolve_inputs
from privacy_profile.lineage import file_sha256
from privacy_profile.lineage.run_record import input_datasets
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.policy.enums import FileFormat
from privacy_profile.policy.model import Policy

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
PURPOSE = "marketing.advertising.profiling"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedPolicy, Path, KeyRing]:
    loaded = load_policy_file(REPO / "policies" / "wechat_shop.yaml")
    out = tmp_path_factory.mktemp("uri_demo")
    data = generate_demo_data(out, n_users=120, seed=5, now=NOW, policy=loaded.policy)
    return loaded, data.input_dir, KeyRing.development(loaded.policy, seed=b"uri")


def _outputs(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): file_sha256(p) for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_file_uri_folder_gives_the_plain_paths_result_and_lineage(
    demo: tuple[LoadedPolicy, Path, KeyRing], tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    uri = input_dir.as_uri()
    assert uri.startswith("file:///")
    by_path = sanitize_to_dir(input_dir, loaded, PURPOSE, keys, tmp_path / "a", now=NOW)
    by_uri = sanitize_to_dir(uri, loaded, PURPOSE, keys, tmp_path / "b", now=NOW)
    # the URI really went through a pyarrow file system, not the local Path code
    folder = resolve_inputs(uri, loaded.policy).folder
    assert folder is not None and folder.local is None
    assert isinstance(folder.fs, pafs.LocalFileSystem)
    a, b = by_path.result, by_uri.result
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        pd.testing.assert_frame_equal(a.quarantine[name], b.quarantine[name])
    assert a.report == b.report
    assert sum(t.accepted_rows for t in b.report.tables.values()) > 0
    # byte-identical outputs: the checksums lineage records for them are the same
    hashes = _outputs(tmp_path / "a")
    assert hashes and hashes == _outputs(tmp_path / "b")
    # the input datasets lineage records: the same (namespace, name) for the path and the URI
    plain = input_datasets(loaded.policy, resolve_inputs(input_dir, loaded.policy))
    via_uri = input_datasets(loaded.policy, resolve_inputs(uri, loaded.policy))
    assert plain == via_uri
    assert {(d.namespace, d.name) for d in via_uri} == {
        ("file", str(input_dir / loaded.policy.tables[t].file_name(t)))
        for t in loaded.policy.tables
    }


def _with_format(policy: Policy, fmt: FileFormat) -> Policy:
    tables = {n: t.model_copy(update={"format": fmt}) for n, t in policy.tables.items()}
    return policy.model_copy(update={"tables": tables})


@pytest.mark.parametrize("fmt", [FileFormat.PARQUET, FileFormat.JSONL])
def test_per_table_file_uris_in_every_format_read_as_the_paths(
    demo: tuple[LoadedPolicy, Path, KeyRing], tmp_path: Path, fmt: FileFormat
) -> None:
    loaded, _, _ = demo
    policy = _with_format(loaded.policy, fmt)
    data = generate_demo_data(
        tmp_path, n_users=40, seed=6, now=NOW, events_per_user=5, fmt=fmt.value, policy=policy
    )
    paths: dict[str, Any] = dict(data.paths)
    uris: dict[str, Any] = {t: p.as_uri() for t, p in data.paths.items()}
    by_path, by_uri = resolve_inputs(paths, policy), resolve_inputs(uris, policy)
    for name, spec in policy.tables.items():
        assert by_uri.location(name, spec).local is None
        a = list(by_path.read(name, spec, chunk_rows=50))
        b = list(by_uri.read(name, spec, chunk_rows=50))
        assert len(a) == len(b) > 0
        for x, y in zip(a, b, strict=True):
            pd.testing.assert_frame_equal(x.frame, y.frame)
            assert x.malformed == y.malformed
        assert by_path.dataset_name(name, spec) == by_uri.dataset_name(name, spec)
    assert by_uri.namespace == by_path.namespace == tmp_path.joinpath("input").as_uri()


def test_a_location_on_a_caller_built_file_system(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "t.csv").write_bytes(b"a,b\n1,x\n2,\n3\n")
    fs = pafs.SubTreeFileSystem(str(tmp_path / "shop"), pafs.LocalFileSystem())
    folder = InputLocation.on(fs, "", uri="mem://shop")
    loc = folder.child("t.csv")
    assert (str(loc), loc.name, loc.is_file(), loc.size()) == (
        "mem://shop/t.csv",
        "t.csv",
        True,
        13,
    )
    assert folder.is_dir() and not folder.child("nope.csv").exists()
    assert loc.local_path is None
    with loc.open_binary() as f:
        assert f.readline() == b"a,b\n"
    policy = load_policy_file(REPO / "policies" / "wechat_shop.yaml").policy
    spec = policy.tables["orders"].model_copy(update={"columns": {}})
    (chunk,) = read_table(loc, "t", spec)
    assert chunk.frame["a"].tolist() == ["1", "2"]
    assert chunk.malformed == [(3, "expected 2 fields, found 1")]


def test_a_missing_file_behind_a_uri_names_the_table_and_the_uri(
    demo: tuple[LoadedPolicy, Path, KeyRing], tmp_path: Path
) -> None:
    loaded, input_dir, keys = demo
    policy = loaded.policy
    missing = (tmp_path / "nope.csv").as_uri()
    given: dict[str, Any] = {
        t: (input_dir / s.file_name(t)).as_uri() for t, s in policy.tables.items()
    }
    with pytest.raises(InputError, match="input file for table 'orders' not found") as e:
        resolve_inputs({**given, "orders": missing}, policy)
    assert str(e.value).startswith(missing)
    # a folder URI without one of the declared files: found when the table is read
    partial = tmp_path / "partial"
    partial.mkdir()
    for t, s in policy.tables.items():
        if t != "orders":
            (partial / s.file_name(t)).write_bytes((input_dir / s.file_name(t)).read_bytes())
    with pytest.raises(InputError) as e:
        sanitize_to_dir(partial.as_uri(), loaded, PURPOSE, keys, tmp_path / "out", now=NOW)
    orders = f"{partial.as_uri()}/{policy.tables['orders'].file_name('orders')}"
    assert str(e.value).startswith(f"{orders}: input file for table 'orders' not found")
    assert e.value.hint is not None and "tables.orders.file" in e.value.hint
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="the input folder does not exist or is not a folder"):
        resolve_inputs((tmp_path / "absent").as_uri(), policy)


@pytest.mark.parametrize(
    "uri", ["ftp://files.example.com/shop", "nosuch://bucket/shop", "file://otherhost/shop"]
)
def test_a_uri_pyarrow_cannot_open_is_an_input_error(uri: str) -> None:
    with pytest.raises(InputError, match="pyarrow cannot open this file system") as e:
        input_location(uri)
    assert e.value.hint is not None and "file://" in e.value.hint
    assert uri.split("//", 1)[1].split("/", 1)[0] in str(e.value)


@pytest.mark.parametrize(
    ("uri", "what"),
    [
        ("s3://AKIAEXAMPLE:s3cr3tvalue@bucket/shop", "carries a password"),
        ("hdfs://alice:s3cr3tvalue@namenode:8020/shop", "carries a password"),
        ("s3://bucket/shop?region=eu&secret_key=s3cr3tvalue", "credentials in its query"),
        ("abfss://c@acct.dfs.core.windows.net/shop?sig=s3cr3tvalue", "credentials in its query"),
    ],
)
def test_a_uri_with_credentials_is_refused(uri: str, what: str, tmp_path: Path) -> None:
    policy = load_policy_file(REPO / "policies" / "wechat_shop.yaml").policy
    with pytest.raises(InputError, match=what) as e:
        resolve_inputs(uri, policy)
    assert "s3cr3tvalue" not in str(e.value)
    assert e.value.hint is not None and "configuration" in e.value.hint


def test_plain_paths_keep_their_messages(tmp_path: Path) -> None:
    loc = input_location(tmp_path / "x.csv")
    assert loc.local == tmp_path / "x.csv" and str(loc) == str(tmp_path / "x.csv")
    assert input_location(str(tmp_path / "d" / "")).local == tmp_path / "d"
    policy = load_policy_file(REPO / "policies" / "wechat_shop.yaml").policy
    with pytest.raises(InputError) as e:
        resolve_inputs(tmp_path / "absent", policy)
    assert str(e.value).startswith(f"{tmp_path / 'absent'}: the input folder does not exist")


def test_the_cli_takes_a_uri_as_input_and_refuses_bad_ones(
    demo: tuple[LoadedPolicy, Path, KeyRing], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from privacy_profile.cli import app

    loaded, input_dir, _ = demo
    runner = CliRunner()
    args = ["sanitize", "--policy", str(loaded.path), "--purpose", PURPOSE, "--dev-keys"]
    ok = runner.invoke(app, [*args, "--input", input_dir.as_uri(), "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0, ok.stderr
    assert any((tmp_path / "a").glob("*.parquet"))
    for uri, what in [
        ("ftp://files.example.com/shop", "pyarrow cannot open this file system"),
        ("s3://AKIAEXAMPLE:s3cr3tvalue@bucket/shop", "carries a password"),
        (f"{input_dir.as_uri()}/absent", "the input folder does not exist"),
    ]:
        bad = runner.invoke(app, [*args, "--input", uri, "--out", str(tmp_path / "b")])
        assert bad.exit_code == 1, bad.stdout
        assert what in bad.stderr
        assert "Traceback" not in bad.stderr and "s3cr3tvalue" not in bad.stderr
        assert not (tmp_path / "b").exists()
