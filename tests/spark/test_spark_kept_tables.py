"""Tables kept on Spark: identity links reach them where they are (the same linked units as
pandas, the Spark frame and the collected frame agree), and a backend told to keep nothing
reads every table back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile import scanner_for
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.spark import SparkBackend

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow

UNIONID = """      unionid:
        category: user.unique_id.wechat_unionid
        role: direct_identifier
        treatment: drop
"""
LINKS = "identity_links:\n  - {table: users, account_column: openid, person_column: unionid}\n"


def test_identity_links_on_kept_tables_equal_pandas(
    demo: tuple[LoadedPolicy, Path, KeyRing], policy_file: Path, spark: Any, tmp_path: Path
) -> None:
    _, input_dir, keys = demo
    text = policy_file.read_text(encoding="utf-8")
    assert UNIONID in text
    text = text.replace(UNIONID, UNIONID.replace("treatment: drop", "treatment: pseudonymize"))
    path = tmp_path / "linked.yaml"
    path.write_text(text.replace("\nmapping:", "\n" + LINKS + "\nmapping:", 1), encoding="utf-8")
    loaded = load_policy_file(path)
    scanner = scanner_for(loaded.policy)
    a = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner)
    b = sanitize(
        input_dir,
        loaded,
        PURPOSE,
        keys,
        now=NOW,
        scanner=scanner,
        backend=SparkBackend(spark, driver_bytes=0),
    )
    assert a.report.identity_links == b.report.identity_links
    assert a.report.identity_links["accounts_linked"] > 0
    assert a.activation.opted_out == b.activation.opted_out
    held = b.tables.remote("events")
    assert held is not None
    subject = loaded.policy.tables["events"].subject_column
    # the join on Spark gives the units the pandas loop gives
    on_spark = held.distinct([subject]).iloc[:, 0]
    assert set(on_spark) == set(a.tables["events"][subject].dropna().astype(str))
    assert b.tables.collected == []
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])


def test_keep_tables_false_reads_every_table_back(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any
) -> None:
    loaded, input_dir, keys = demo
    b = sanitize(
        input_dir,
        loaded,
        PURPOSE,
        keys,
        now=NOW,
        backend=SparkBackend(spark, driver_bytes=0, keep_tables=False),
    )
    assert b.tables.remote_names == () and len(b.tables["events"]) > 0
