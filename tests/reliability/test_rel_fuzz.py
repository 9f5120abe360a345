"""Issue 14 (fuzzing): the readers and the policy loader raise nothing but the library's own
errors, whatever bytes they are given. Small enough for CI (a few seconds each)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy_profile.errors import PrivacyProfileError
from privacy_profile.ingest.readers import read_table
from privacy_profile.policy.loader import load_policy_file
from privacy_profile.policy.model import Table

ROOT = Path(__file__).resolve().parents[2]
POLICY_LINES = (ROOT / "policies" / "wechat_shop.yaml").read_text("utf-8").splitlines()
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _spec(fmt: str) -> Table:
    return Table.model_validate(
        {
            "format": fmt,
            "retention_days": 30,
            "subject_column": "a",
            "columns": {
                "a": {"category": "system.operations", "role": "attribute", "treatment": "keep"}
            },
        }
    )


def _consume(data: bytes, fmt: str, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            for chunk in read_table(path, "t", _spec(fmt), block_bytes=64):
                assert len(chunk.frame.columns) == len(chunk.columns)
        except PrivacyProfileError:
            pass


CSV_ALPHABET = st.sampled_from(
    [b"a", b"b", b",", b'"', b"\n", b"\r", b"1", b" ", b"\xe4\xb8\xad", b"\xff"]
)


@FUZZ
@given(st.lists(CSV_ALPHABET, max_size=200).map(b"".join))
def test_csv_reader_raises_only_library_errors(body: bytes) -> None:
    _consume(b"a,b,c\n" + body, "csv", "t.csv")


@FUZZ
@given(st.binary(max_size=300))
def test_csv_reader_on_any_bytes(data: bytes) -> None:
    _consume(data, "csv", "t.csv")


@FUZZ
@given(
    st.lists(
        st.one_of(
            st.just(b'{"a": 1}'),
            st.just(b'{"a": [1, {"b": null}]}'),
            st.just(b"[1, 2]"),
            st.just(b"{"),
            st.just(b'"x"'),
            st.binary(max_size=20),
        ),
        max_size=20,
    ).map(b"\n".join)
)
def test_jsonl_reader_raises_only_library_errors(data: bytes) -> None:
    _consume(data, "jsonl", "t.jsonl")


@FUZZ
@given(st.binary(max_size=400))
def test_parquet_reader_on_any_bytes(data: bytes) -> None:
    _consume(b"PAR1" + data + b"PAR1", "parquet", "t.parquet")


@FUZZ
@given(st.binary(max_size=400))
def test_policy_loader_on_any_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.yaml"
        path.write_bytes(data)
        with contextlib.suppress(PrivacyProfileError):
            load_policy_file(path)


@settings(FUZZ, max_examples=25)  # a policy load takes ~0.2 s
@given(
    st.integers(min_value=0, max_value=len(POLICY_LINES) - 1),
    st.sampled_from(["delete", "dup", "blank-value", "garbage", "indent", "negate"]),
)
def test_policy_loader_on_mutated_policies(line: int, how: str) -> None:
    lines = list(POLICY_LINES)
    text = lines[line]
    if how == "delete":
        del lines[line]
    elif how == "dup":
        lines.insert(line, text)
    elif how == "blank-value" and ":" in text:
        lines[line] = text.split(":", 1)[0] + ":"
    elif how == "garbage":
        lines[line] = text + " ]]{{ \x00"
    elif how == "indent":
        lines[line] = "   " + text
    elif how == "negate" and ":" in text:
        lines[line] = text.split(":", 1)[0] + ": -1"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "p.yaml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with contextlib.suppress(PrivacyProfileError):
            load_policy_file(path)
