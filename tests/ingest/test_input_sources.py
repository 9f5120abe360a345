"""The API takes a folder, a mapping of table name to path, or of table name to DataFrame, and
a LoadedPolicy, a Policy or a path; wrong types are clear errors raised before anything is
read or written."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _ingest_helpers import NOW, PURPOSE, REPO, Shop

from privacy_profile.errors import InputError, PolicyError
from privacy_profile.ingest import KeyRing, sanitize
from privacy_profile.ingest.sources import (
    IN_MEMORY,
    InputTables,
    normalize_run_args,
    resolve_inputs,
    resolve_policy,
)
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.policy.model import Policy

POLICY_FILE = REPO / "policies" / "wechat_shop.yaml"


def _frames(shop: Shop, policy: Policy) -> dict[str, pd.DataFrame]:
    return {
        t: pd.read_csv(shop.dir / spec.file_name(t), dtype=str, keep_default_na=False).replace(
            "", pd.NA
        )
        for t, spec in policy.tables.items()
    }


def _same(a: Any, b: Any) -> None:
    assert set(a.tables) == set(b.tables)
    for t in a.tables:
        pd.testing.assert_frame_equal(a.tables[t], b.tables[t], check_dtype=False)
    for t, rep in a.report.tables.items():
        other = b.report.tables[t]
        assert (rep.input_rows, rep.accepted_rows, rep.excluded_rows, rep.quarantined_rows) == (
            other.input_rows,
            other.accepted_rows,
            other.excluded_rows,
            other.quarantined_rows,
        )


def test_folder_paths_and_frames_give_the_same_result(
    shop: Shop, policy: Policy, keys: KeyRing, tmp_path: Path
) -> None:
    by_folder = sanitize(shop.dir, policy, PURPOSE, keys, now=NOW)
    # files named freely, in different folders
    paths = {}
    for t, spec in policy.tables.items():
        target = tmp_path / f"folder_{t}" / f"export-{t}.csv"
        target.parent.mkdir()
        shutil.copy(shop.dir / spec.file_name(t), target)
        paths[t] = target
    by_paths = sanitize(paths, policy, PURPOSE, keys, now=NOW)
    by_frames = sanitize(_frames(shop, policy), policy, PURPOSE, keys, now=NOW)
    _same(by_folder, by_paths)
    _same(by_folder, by_frames)
    assert by_paths.report.tables["users"].file == "folder_users/export-users.csv"
    assert by_frames.report.tables["users"].file == "users"


def test_typed_dataframes_are_read_like_files(shop: Shop, policy: Policy, keys: KeyRing) -> None:
    frames = _frames(shop, policy)
    # typed columns as a pandas user would have them: datetimes, floats, booleans
    orders = frames["orders"].copy()
    orders["amount"] = orders["amount"].astype(float)
    orders["ordered_at"] = pd.to_datetime(orders["ordered_at"])
    orders["coupon_used"] = orders["coupon_used"].map({"True": True, "False": False})
    typed = {**frames, "orders": orders}
    a = sanitize(frames, policy, PURPOSE, keys, now=NOW)
    b = sanitize(typed, policy, PURPOSE, keys, now=NOW)
    assert b.report.tables["orders"].quarantined_rows == a.report.tables["orders"].quarantined_rows
    assert b.report.tables["orders"].accepted_rows == a.report.tables["orders"].accepted_rows > 0


@pytest.mark.parametrize("form", ["loaded", "policy", "path", "str"])
def test_every_policy_form_is_accepted(form: str, shop: Shop, keys: KeyRing) -> None:
    loaded = load_policy_file(POLICY_FILE)
    given: Any = {
        "loaded": loaded,
        "policy": loaded.policy,
        "path": POLICY_FILE,
        "str": str(POLICY_FILE),
    }[form]
    got = resolve_policy(given)
    assert isinstance(got, LoadedPolicy) and got.policy == loaded.policy
    assert got.digest.startswith("sha256:")
    if form == "policy":
        assert resolve_policy(loaded.policy).digest == got.digest  # stable for the same model


@pytest.mark.parametrize(
    ("policy", "match"),
    [
        ({"policy_version": 1}, "policy of type dict is not accepted"),
        (42, "policy of type int is not accepted"),
        (None, "policy of type NoneType is not accepted"),
    ],
)
def test_wrong_policy_types_are_policy_errors(policy: Any, match: str, shop: Shop) -> None:
    with pytest.raises(PolicyError, match=match):
        normalize_run_args(shop.dir, policy)


def test_missing_policy_file_is_a_policy_error(shop: Shop, tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        resolve_policy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda shop, fr: fr["users"], "a single DataFrame"),
        (lambda shop, fr: [shop.dir], "inputs of type list are not accepted"),
        (lambda shop, fr: 3, "inputs of type int are not accepted"),
        (lambda shop, fr: shop.dir / "missing", "does not exist or is not a folder"),
        (lambda shop, fr: {**fr, "extra": fr["users"]}, "undeclared table\\(s\\) 'extra'"),
        (
            lambda shop, fr: {k: v for k, v in fr.items() if k != "orders"},
            "no input for declared table\\(s\\) 'orders'",
        ),
        (lambda shop, fr: {**fr, "orders": 12}, "the input for table 'orders' is a int"),
        (
            lambda shop, fr: {**fr, "orders": shop.dir / "nope.csv"},
            "input file for table 'orders' not found",
        ),
        (
            lambda shop, fr: {
                **fr,
                "orders": fr["orders"].set_axis(range(fr["orders"].shape[1]), axis=1),
            },
            "non-string column name",
        ),
    ],
)
def test_wrong_inputs_are_input_errors_before_anything_is_read(
    make: Any, match: str, shop: Shop, policy: Policy, keys: KeyRing
) -> None:
    bad = make(shop, _frames(shop, policy))
    with pytest.raises(InputError, match=match):
        sanitize(bad, policy, PURPOSE, keys, now=NOW)


def test_lineage_names_of_each_source(shop: Shop, policy: Policy) -> None:
    folder = resolve_inputs(shop.dir, policy)
    assert folder.namespace == shop.dir.resolve().as_uri()
    assert folder.dataset_name("users", policy.tables["users"]) == "users.csv"
    frames = resolve_inputs(_frames(shop, policy), policy)
    assert frames.namespace == IN_MEMORY
    assert frames.dataset_name("users", policy.tables["users"]) == "users"
    assert resolve_inputs(frames, policy) is frames
    assert isinstance(frames, InputTables)


def test_dataframe_conversion_keeps_missing_values_missing() -> None:
    from privacy_profile.ingest.sources import _frame_chunks

    frame = pd.DataFrame(
        {
            "n": [1.5, None],
            "b": [True, False],
            "t": [dt.datetime(2026, 1, 2, 3, 4, 5), None],
            "s": ["x", None],
        }
    )
    (chunk,) = list(_frame_chunks(frame, chunk_rows=10))
    assert list(chunk.frame.index) == [1, 2]
    assert chunk.frame.loc[1].tolist() == ["1.5", "true", "2026-01-02T03:04:05", "x"]
    assert chunk.frame.loc[2, "b"] == "false"
    assert chunk.frame.loc[2, ["n", "t", "s"]].isna().all()
