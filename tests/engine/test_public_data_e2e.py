"""The whole sanitize-then-segment engine on public data (skipped when ../shared/data is absent).

UCI Online Retail (the CustomerID % 10 == 0 fixture: 445 customers) and the Taobao
UserBehavior head file (814 users) are converted to policy-shaped tables by
:mod:`privacy_profile.demo.public_data`, with generated ages and consent records, and run with
the example policies in ``policies/examples/``.

Identifier check: UCI CustomerIDs are 5-digit numbers and Taobao user ids 1-7 digit counters
(730 of the 814 have 7 digits). The identifier index (ingestion) and the release guard reading it
skip numeric values under 7 digits, because short numbers are everywhere in group-level outputs
(counts, sizes, bounds): a 5-digit id equal to a DP count means nothing, and a substring search
for one in a file would match digits of unrelated numbers. So the test compares whole cells of
every marketing file (CSV fields, JSON scalars): a number cell against the ids of >= 7 digits,
a text cell's alphanumeric parts of >= 4 characters against every id (which covers the UCI ids
wherever text could carry them: labels, values, categories). No marketing file may hold a
pseudonym either. test_the_identifier_check_can_fail plants ids to show the check finds them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from privacy_profile import Release, open_ledger, sanitize_then_segment, scanner_for
from privacy_profile.cli import app
from privacy_profile.demo.public_data import (
    consent_records,
    read_uci_lines,
    subjects_frame,
    taobao_events,
    uci_customers,
    uci_orders,
)
from privacy_profile.dp import DPRandom
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage.audit import verify_run
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.segments.columns import feature_columns

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "policies" / "examples"
PURPOSE = "marketing.advertising.profiling"
runner = CliRunner()

pytestmark = pytest.mark.slow  # the engine on the public data sets


@dataclass
class Run:
    root: Path
    loaded: LoadedPolicy
    rows: dict[str, int]
    admitted: int
    ids: frozenset[str]
    release: Release


def _uci_tables(data: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    lines = read_uci_lines(data / "uci_online_retail" / "uci_online_retail_custid_mod10.csv")
    assert len(lines) == 36378
    customers = uci_customers(lines)
    ids = customers["CustomerID"].tolist()
    ages = subjects_frame(ids, id_column="CustomerID", seed=1)
    users = customers.merge(ages, on="CustomerID")
    return {"users": users, "orders": uci_orders(lines)}, ids


def _taobao_tables(data: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    raw = pd.read_csv(
        data / "taobao_userbehavior" / "UserBehavior_head_814users.csv", dtype=str
    )  # fmt: skip
    assert len(raw) == 84287
    events = taobao_events(raw, category_prefix="cat")
    ids = sorted(events["user_id"].unique())
    return {"users": subjects_frame(ids, id_column="user_id", seed=1), "events": events}, ids


DATASETS: dict[str, tuple[str, Callable[[Path], tuple[dict[str, pd.DataFrame], list[str]]], str]]
DATASETS = {
    "uci": ("uci_online_retail.yaml", _uci_tables, "2011-12-10T00:00:00+00:00"),
    "taobao": ("taobao_userbehavior.yaml", _taobao_tables, "2017-12-04T00:00:00+00:00"),
}
_RUNS: dict[str, Run] = {}


def _run(name: str, data: Path, root: Path) -> Run:
    if name in _RUNS:
        return _RUNS[name]
    policy_file, convert, now = DATASETS[name]
    loaded = load_policy_file(EXAMPLES / policy_file)
    tables, ids = convert(data)
    unit = loaded.policy.subjects.id_column
    tables["consents"], admitted = consent_records(ids, id_column=unit, purpose=PURPOSE, seed=2)
    inputs = root / "input"
    inputs.mkdir(parents=True)
    for t, frame in tables.items():
        frame.to_csv(inputs / f"{t}.csv", index=False)
    with open_ledger(root / "ledger.sqlite", loaded.policy) as ledger:
        release = sanitize_then_segment(
            inputs,
            loaded,
            PURPOSE,
            KeyRing.development(loaded.policy, seed=b"public-data-e2e"),
            ledger,
            root,
            scanner=scanner_for(loaded.policy),
            rng=DPRandom.for_testing(3),
            now=dt.datetime.fromisoformat(now),
        )
    run = Run(
        root=root,
        loaded=loaded,
        rows={t: len(f) for t, f in tables.items()},
        admitted=admitted,
        ids=frozenset(ids),
        release=release,
    )
    _RUNS[name] = run
    return run


@pytest.fixture(params=sorted(DATASETS))
def run(
    request: pytest.FixtureRequest, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    name = str(request.param)
    return _run(name, shared_data, _root(name, tmp_path_factory))


def _root(name: str, factory: pytest.TempPathFactory) -> Path:
    return _RUNS[name].root if name in _RUNS else factory.mktemp(f"e2e_{name}")


# --------------------------------------------------------------------------- counts


def test_every_row_of_every_table_is_accounted_for(run: Run) -> None:
    report = run.release.ingest
    assert report.reconciles()
    assert set(report.tables) == set(run.rows)
    for name, rows in run.rows.items():
        t = report.tables[name]
        assert t.input_rows == rows, name
        assert t.input_rows == t.accepted_rows + t.excluded_rows + t.quarantined_rows, name
    # the generated consent records admit a known number of subjects; the minors rule and
    # k-anonymity can only take some of them away
    users = report.tables["users"]
    assert 0 < users.accepted_rows <= run.admitted < users.input_rows
    assert users.excluded.get("consent_withdrawn", 0) > 0
    assert users.excluded.get("notice_version_not_accepted", 0) > 0
    assert users.excluded.get("minor_without_guardian_consent", 0) > 0


# --------------------------------------------------------------------------- releases


def test_segments_and_personas_are_released(run: Run) -> None:
    r = run.release
    seg = r.segments
    released = seg.loc[~seg["suppressed"].astype(bool)]
    spec = run.loaded.policy.segmentation
    assert spec is not None
    families = {"kmeans", "lifecycle", "rule"} | ({"rfm"} if spec.rfm is not None else set())
    assert set(seg["family"]) == families
    for family in families - {"rule"}:  # each family releases at least one group
        assert (released["family"] == family).any(), family
    assert (released["dp_size"] >= run.loaded.policy.privacy.aggregation_threshold.threshold).all()
    assert len(r.personas) > 0
    names = {p.name for p in r.marketing_files}
    assert {"segments.csv", "segments.json", "personas.csv", "personas.json"} <= names
    assert r.epsilon_spent == pytest.approx(sum(spec.releases().values()))


def test_uci_released_sizes_are_plausible(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """RFM-8 classes partition the admitted customers with a net paid order: the DP sizes of the
    released classes cannot sum far above the customers ingestion admitted."""
    run = _run("uci", shared_data, _root("uci", tmp_path_factory))
    seg = run.release.segments
    rfm = seg.loc[(seg["family"] == "rfm") & ~seg["suppressed"].astype(bool)]
    admitted = run.release.ingest.tables["users"].accepted_rows
    assert 0 < rfm["dp_size"].sum() <= admitted * 1.2


def test_uci_country_is_the_location_persona_dimension(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = _run("uci", shared_data, _root("uci", tmp_path_factory))
    personas = run.release.personas
    shown = set(personas.loc[personas["dimension"] == "province", "value"].astype(str))
    assert "United Kingdom" in shown


def test_feature_columns_come_from_the_policy() -> None:
    shop = feature_columns(load_policy_file(ROOT / "policies" / "wechat_shop.yaml").policy)
    assert (shop.users, shop.age_band, shop.province) == ("users", "birthdate", "city")
    uci = feature_columns(load_policy_file(EXAMPLES / "uci_online_retail.yaml").policy)
    assert (uci.users, uci.age_band, uci.province) == ("users", "age", "Country")
    taobao = feature_columns(load_policy_file(EXAMPLES / "taobao_userbehavior.yaml").policy)
    assert (taobao.age_band, taobao.province) == ("age", None)  # no location column


# --------------------------------------------------------------------------- evidence


def test_audit_verify_passes(run: Run) -> None:
    with open_ledger(run.root / "ledger.sqlite", run.loaded.policy) as ledger:
        report = verify_run(run.release.run_dir, ledger=ledger)
    assert report.run_id == run.release.run_id
    assert report.event_types == ("START", "COMPLETE")
    assert {Path(p).name for p in report.outputs_checked} >= {"segments.csv", "personas.csv"}
    assert report.ledger_charges_checked > 0


def _cells(path: Path) -> Iterator[str]:
    if path.suffix in (".csv", ".parquet"):
        frame = (
            pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            if path.suffix == ".csv"
            else pd.read_parquet(path).astype("string").fillna("")
        )
        yield from frame.columns
        for col in frame.columns:
            yield from frame[col]
    elif path.suffix == ".json":
        stack = [json.loads(path.read_text(encoding="utf-8"))]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                stack.extend(x.keys())
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
            else:
                yield str(x)
    else:
        yield from re.split(r"\s+", path.read_text(encoding="utf-8"))


_NUMBER = re.compile(r"[-+]?\d+(\.\d*)?([eE][-+]?\d+)?")


def _identifier_hits(paths: Iterable[Path], ids: frozenset[str]) -> list[str]:
    """Cells holding an input identifier: a numeric cell equal to an id of >= 7 digits, or a
    text cell with an alphanumeric part of >= 4 characters equal to any id."""
    long_ids = {i for i in ids if len(i) >= 7}
    hits: list[str] = []
    for path in paths:
        for cell in _cells(path):
            c = cell.strip()
            if _NUMBER.fullmatch(c):
                f = float(c)
                bad = (str(int(f)) if f.is_integer() else c) in long_ids
            else:
                bad = bool({p for p in re.split(r"[^0-9A-Za-z]+", c) if len(p) >= 4} & ids)
            if bad:
                hits.append(f"{path.name}: {c!r}")
    return hits


def test_no_input_identifier_in_marketing_outputs(run: Run) -> None:
    files = run.release.marketing_files
    assert len(files) >= 4
    assert not (hits := _identifier_hits(files, run.ids)), hits[:5]
    # and no pseudonym (32 hex digits) of this run
    for path in files:
        text = "\n".join(_cells(path))  # Parquet cells too (its bytes are compressed)
        assert not re.search(r"\b[0-9a-f]{32}\b", text), path.name


def test_the_identifier_check_can_fail(run: Run, tmp_path: Path) -> None:
    """A planted identifier in a copy of personas.csv is found: a long id as a number cell
    (Taobao) or any id inside a text cell (both); a short id as a number cell is not (it is
    indistinguishable from a count, which is why that case is not checked)."""
    personas = next(p for p in run.release.marketing_files if p.name == "personas.csv")
    frame = pd.read_csv(personas, dtype=str, keep_default_na=False)
    assert not _identifier_hits([personas], run.ids)
    short = sorted(i for i in run.ids if 4 <= len(i) < 7)
    long_ = sorted(i for i in run.ids if len(i) >= 7)
    cases: list[tuple[str, str, bool]] = [("dp_count", i, True) for i in long_[:1]]
    cases += [("value", f"customer {i}", True) for i in (short[:1] + long_[:1])]
    cases += [("dp_count", i, False) for i in short[:1]]
    assert any(found for *_, found in cases)
    for column, planted, found in cases:
        tampered = frame.copy()
        tampered.loc[0, column] = planted
        path = tmp_path / "personas.csv"
        tampered.to_csv(path, index=False)
        assert bool(_identifier_hits([path], run.ids)) is found, (column, planted)


# --------------------------------------------------------------------------- example policies


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_policies_validate(path: Path) -> None:
    loaded = load_policy_file(path)
    assert loaded.policy.segmentation is not None
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("valid")


def test_pseudonym_values_are_each_distinct_pseudonym_once(tmp_path: Path) -> None:
    """What the engine hands the release guard: every pseudonym and token, each once."""
    from privacy_profile.demo import generate_demo_data
    from privacy_profile.ingest import sanitize
    from privacy_profile.ingest.run_values import pseudonym_values

    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    policy = load_policy_file(ROOT / "policies" / "wechat_shop.yaml").policy
    data = generate_demo_data(tmp_path, n_users=300, seed=5, now=now, policy=policy)
    result = sanitize(data.input_dir, policy, PURPOSE, KeyRing.development(policy), now=now)
    values = list(pseudonym_values(policy, result))
    assert len(values) == len(set(values))
    expected = {str(v) for t in ("users", "events", "orders", "campaign_sends",
                                 "campaign_events", "redemptions")
                for v in result.tables[t]["openid"].dropna()}  # fmt: skip
    assert result.activation.tokens is not None
    expected |= set(result.activation.tokens["token"].astype(str))
    assert set(values) == expected and len(expected) > 150
