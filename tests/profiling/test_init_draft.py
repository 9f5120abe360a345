"""`privacy-profile init`: a policy drafted from samples validates, marks its guesses, never
contains a sample value, and reads samples with their encodings detected."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _shop import PLANTED, make_shop
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.errors import InputError
from privacy_profile.pii import PiiScanner
from privacy_profile.policy import load_policy_file
from privacy_profile.profiling import draft_policy, init_policy, read_sample
from privacy_profile.profiling.sample import detect_encoding
from privacy_profile.profiling.vocabulary import (
    BOOLEAN_WORDS,
    CONSENT_WORDS,
    EVENT_WORDS,
    STATUS_WORDS,
)

runner = CliRunner()
VOCABULARY = {
    w
    for vocab in (BOOLEAN_WORDS, CONSENT_WORDS, EVENT_WORDS, STATUS_WORDS)
    for words in vocab.values()
    for w in words
}


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("shop") / "input")


def _all_values(folder: Path) -> set[str]:
    values: set[str] = set()
    for p in folder.iterdir():
        frame = read_sample(p).frame
        for c in frame.columns:
            values.update(str(v).strip() for v in frame[c].dropna().unique())
    return values


def test_draft_validates_and_marks_guesses(shop: Path, tmp_path: Path, scanner: Any) -> None:
    out = tmp_path / "policy.yaml"
    draft = init_policy(shop, out, scanner=scanner)
    loaded = load_policy_file(out)  # validates with the current model
    pol = loaded.policy
    assert pol.subjects.table == "会员" and pol.subjects.id_column == "会员ID"
    assert pol.subjects.birthdate_column == "出生日期"
    # the subject id column differs per table
    assert pol.tables["订单"].subject_column == "用户ID"
    assert pol.tables["behavior"].subject_column == "uid"
    assert pol.privacy.privacy_unit_column == "会员.会员ID"
    # encodings detected and declared
    assert pol.tables["订单"].encoding == "gbk"
    assert pol.tables["会员"].encoding == "utf-8-sig"
    # treatments: identifiers pseudonymized, contact data dropped, free text scanned
    members = pol.tables["会员"].columns
    assert members["会员ID"].treatment.action == "pseudonymize"
    assert members["手机号"].treatment.action == "drop"
    assert members["昵称"].treatment.action == "drop"
    assert members["备用字段"].category == "user.contact.phone_number"  # found by the scanner
    assert members["备用字段"].treatment.action == "drop"
    assert pol.tables["订单"].columns["备注"].treatment.action == "scan"
    assert pol.tables["订单"].columns["实付金额"].role.value == "metric"
    assert pol.tables["behavior"].columns["ts"].type.value == "unix_seconds"
    assert getattr(members["城市"].treatment, "method", None) == "city_to_province"
    # every drafted column's category line carries a review comment
    text = out.read_text(encoding="utf-8")
    category_lines = [ln for ln in text.splitlines() if ln.strip().startswith("category:")]
    reviewed = [ln for ln in category_lines if "# review:" in ln]
    assert len(reviewed) == sum(len(t.columns) for t in draft.tables)  # + 5 placeholder columns
    assert text.count("# review:") >= sum(len(t.columns) for t in draft.tables)
    assert "PROPOSED MAPPINGS" in text
    assert "orders: {table: 订单, order_id: 订单号, amount: 实付金额, time: 下单时间" in text
    assert "订单.订单状态: {paid: [已支付], refunded: [已退款]}" in text
    assert "1 other value(s) not in the built-in vocabulary" in text
    events = "behavior.action: {cart: [加购], favourite: [收藏], purchase: [购买], view: [浏览]}"
    assert events in text
    assert "同意营销: {purpose: REVIEW, values: {granted: [是], withdrawn: [否]}}" in text
    assert "会员.会员等级" in text  # a custom tag candidate
    assert "PLACEHOLDER: no consent table" in text


def test_draft_never_contains_sample_values(shop: Path, scanner: Any) -> None:
    text = draft_policy(shop, scanner=scanner).text
    for planted in PLANTED:
        assert planted not in text, planted
    headers = set()
    for p in shop.iterdir():
        headers.update(read_sample(p).frame.columns)
    leaked = [
        v
        for v in _all_values(shop)
        if len(v) >= 2
        and not v.isdigit()
        and v.lower() not in VOCABULARY
        and v not in headers
        and v in text
    ]
    assert leaked == []


def test_consent_table_is_mapped(tmp_path: Path, scanner: Any) -> None:
    shop = make_shop(tmp_path / "in", n=120, consent_table=True)
    out = tmp_path / "p.yaml"
    init_policy(shop, out, scanner=scanner)
    pol = load_policy_file(out).policy
    cr = pol.consent_records
    assert (cr.table, cr.user_column) == ("授权记录", "用户编号")
    assert (cr.purpose_column, cr.status_column) == ("授权用途", "状态")
    assert (cr.timestamp_column, cr.notice_version_column) == ("记录时间", "隐私政策版本")
    text = out.read_text(encoding="utf-8")
    assert "授权记录.状态: {granted: [同意], withdrawn: [撤回]}" in text
    assert "NV-ZZ-2099" not in text
    assert "consents.csv" not in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("会员,金额\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "会员,金额\n".encode(), "utf-8-sig"),
        ("会员,金额\n".encode("gbk"), "gbk"),
        ("会员,\U00020000\n".encode("gb18030"), "gb18030"),
        (b"plain,ascii\n", "utf-8"),
    ],
)
def test_encoding_detection(raw: bytes, expected: str, tmp_path: Path) -> None:
    assert detect_encoding(raw, tmp_path / "x.csv") == expected


def test_undecodable_file_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_bytes(b"a,b\n\xff\xfe\xff\x00\x81\n")
    with pytest.raises(InputError, match="not text in any supported encoding"):
        read_sample(p)


def test_reads_a_sample_not_the_whole_file(tmp_path: Path) -> None:
    p = tmp_path / "events.csv"
    with p.open("w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["用户ID", "行为类型"])
        for i in range(50_000):
            w.writerow([f"U{i}", "浏览"])
    s = read_sample(p, max_rows=1000, max_bytes=1 << 16)
    assert s.encoding == "gbk" and not s.complete
    assert len(s.frame) == 1000
    small = read_sample(p, max_rows=100_000, max_bytes=1 << 14)
    assert not small.complete and 0 < len(small.frame) < 50_000
    assert small.frame.iloc[-1]["行为类型"] == "浏览"  # cut at a line end, not mid-character


def test_parquet_and_jsonl_samples(tmp_path: Path) -> None:
    frame = pd.DataFrame({"user_id": ["a1", "a2", None], "amount": [1.5, 2.0, 3.25]})
    frame.to_parquet(tmp_path / "orders.parquet")
    s = read_sample(tmp_path / "orders.parquet")
    assert s.format == "parquet" and s.encoding is None and s.complete
    assert list(s.frame.columns) == ["user_id", "amount"]
    draft = draft_policy(tmp_path, scan=False)
    assert draft.tables[0].subject_column == "user_id"
    col = next(c for c in draft.tables[0].columns if c.name == "amount")
    assert col.profile.type.value == "float" and col.role.value == "metric"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "not a folder"),
        (lambda d: d.mkdir(), "no .csv, .jsonl, .ndjson, .parquet files found"),
        (
            lambda d: (d.mkdir(), (d / "t.csv").write_text("x,y\n1,2\n", encoding="utf-8")),
            "no file has a column recognised as a person's id",
        ),
        (
            lambda d: (d.mkdir(), (d / "t.parquet").write_bytes(b"not parquet")),
            "not a readable Parquet file",
        ),
    ],
)
def test_bad_inputs_are_input_errors_and_write_nothing(
    tmp_path: Path, setup: Any, message: str
) -> None:
    folder = tmp_path / "in"
    setup(folder)
    out = tmp_path / "out" / "policy.yaml"
    with pytest.raises(InputError, match=message):
        init_policy(folder, out, scan=False)
    assert not out.exists()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_existing_out_is_refused_unless_forced(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "policy.yaml"
    out.write_text("mine\n", encoding="utf-8")
    with pytest.raises(InputError, match="refusing to overwrite"):
        init_policy(shop, out, scan=False)
    assert out.read_text(encoding="utf-8") == "mine\n"
    init_policy(shop, out, scan=False, force=True)
    assert load_policy_file(out).policy.name
    assert [p.name for p in tmp_path.iterdir()] == ["policy.yaml"]  # no temp file left


def test_cli_init_then_validate(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "drafted.yaml"
    result = runner.invoke(app, ["init", "--input", str(shop), "--out", str(out), "--no-scan"])
    assert result.exit_code == 0, result.stderr
    assert "encoding gbk" in result.stdout
    assert "subject id column '用户ID'" in result.stdout
    valid = runner.invoke(app, ["policy", "validate", str(out)])
    assert valid.exit_code == 0, valid.stderr
    again = runner.invoke(app, ["init", "--input", str(shop), "--out", str(out)])
    assert again.exit_code == 1
    assert "refusing to overwrite" in again.stderr and "Traceback" not in again.output
    other = str(tmp_path / "other.yaml")
    missing = runner.invoke(app, ["init", "--input", str(tmp_path / "nope"), "--out", other])
    assert missing.exit_code == 1 and "not a folder" in missing.stderr


def test_distinct_count_estimate() -> None:
    from privacy_profile.profiling.columns import profile_column

    whole = profile_column(pd.Series(["a", "b", "b", None]), complete=True)
    assert (whole.distinct, whole.distinct_estimate, whole.null_share) == (2, 2, 0.25)
    unique = profile_column(pd.Series([f"u{i}" for i in range(100)]), complete=False)
    assert unique.distinct_estimate is None and unique.unique_in_sample
    # 10 values seen once, 5 seen twice: 15 + 10 * 9 / (2 * 6) = 22.5 -> 22
    values = [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(5)] * 2
    part = profile_column(pd.Series(values), complete=False)
    assert (part.distinct, part.distinct_estimate) == (15, 22)


def test_dotted_file_names_become_valid_table_names(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "orders.2026-11.csv").write_text("user_id,amount\nu1,3.5\nu2,4\n", encoding="utf-8")
    out = tmp_path / "p.yaml"
    init_policy(folder, out, scan=False)
    pol = load_policy_file(out).policy
    assert list(pol.tables) == ["orders_2026-11", "consents"]
    assert pol.tables["orders_2026-11"].file == "orders.2026-11.csv"
    assert pol.privacy.privacy_unit_column == "orders_2026-11.user_id"


@pytest.mark.parametrize(
    "header",
    [
        "M100001,13912345678,2026-01-02\n",  # a data row where the header should be
        "user_id,amount,13912345678\n",
        "user_id,zhang.san@example.com\n",
    ],
)
def test_a_file_without_header_is_refused_without_echoing_it(
    header: str, tmp_path: Path, scanner: Any
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "t.csv").write_text(header + "M2,3,4\n", encoding="utf-8")
    out = tmp_path / "p.yaml"
    with pytest.raises(InputError, match="look like values") as e:
        init_policy(folder, out, scanner=scanner)
    assert "13912345678" not in str(e.value) and "zhang.san" not in str(e.value)
    assert not out.exists()


@pytest.mark.parametrize(
    ("values", "typ", "meanings"),
    [
        (["是", "否"], "string", {"granted": ["是"], "withdrawn": ["否"]}),
        (["同意", "撤回"], "string", {"granted": ["同意"], "withdrawn": ["撤回"]}),
        (["Y", "N"], "boolean", {"granted": ["Y"], "withdrawn": ["N"]}),
        (["1", "0"], "boolean", {"granted": ["1"], "withdrawn": ["0"]}),
    ],
)
def test_consent_flag_vocabularies(
    values: list[str], typ: str, meanings: dict[str, list[str]], tmp_path: Path
) -> None:
    from privacy_profile.profiling.propose import propose_table

    path = tmp_path / "members.csv"
    rows = "".join(f"u{i},{values[i % 2]}\n" for i in range(20))
    path.write_text("member_id,marketing_consent\n" + rows, encoding="utf-8")
    table = propose_table("members", read_sample(path), None)
    flag = next(c for c in table.columns if c.name == "marketing_consent")
    assert flag.semantic == "consent_flag" and flag.type.value == typ
    assert flag.meanings == meanings and flag.unknown_values == 0
    assert table.subject_column == "member_id" and table.kind == "subjects"
