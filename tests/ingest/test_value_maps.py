"""Value maps: raw values (是/否, Y/N, 已支付, 男/女) mapped to their declared meaning before
type checks; unlisted values counted per column and quarantined or kept as missing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from privacy_profile.ingest.readers import RawChunk
from privacy_profile.ingest.validate import (
    UNKNOWN_VALUE,
    TableSchema,
    apply_value_map,
    validate_chunk,
)
from privacy_profile.policy.model import Column, Table


def _table(unknown: str) -> Table:
    return Table.model_validate(
        {
            "retention_days": 10,
            "subject_column": "uid",
            "columns": {
                "uid": {"category": "user.unique_id", "role": "direct_identifier",
                        "treatment": "pseudonymize"},
                "coupon": {"category": "user.behavior", "role": "attribute", "type": "boolean",
                           "treatment": "keep", "values": {"是": True, "否": False}},
                "status": {"category": "user.behavior", "role": "attribute", "treatment": "keep",
                           "values": {"已支付": "paid", "已退款": "refunded"},
                           "unknown_values": unknown},
            },
        }
    )  # fmt: skip


def _chunk() -> RawChunk:
    frame = pd.DataFrame(
        {
            "uid": ["a", "b", "c", "d", "e"],
            "coupon": [" 是", "否", "是", None, "Y"],
            "status": ["已支付", "已退款", "待发货", "已支付", None],
        },
        dtype="string",
    )
    frame.index = pd.Index([1, 2, 3, 4, 5], name="_row")
    return RawChunk(frame=frame, columns=tuple(frame.columns))


def test_apply_value_map_maps_each_value_and_flags_unlisted_ones() -> None:
    s = pd.Series(["是", " 否 ", "maybe", None], dtype="string")
    mapped, unknown = apply_value_map(s, {"是": "true", "否": "false"})
    assert mapped.tolist()[:2] == ["true", "false"] and mapped.isna().tolist()[2:] == [True, True]
    assert unknown.tolist() == [False, False, True, False]  # missing is not unknown


@pytest.mark.parametrize("unknown", ["quarantine", "keep"])
def test_unknown_values_are_counted_and_follow_the_policy(unknown: str) -> None:
    schema = TableSchema(name="sales", spec=_table(unknown), path=Path("sales.csv"))
    v = validate_chunk(_chunk(), schema)
    assert v.unknown_values == {"coupon": 1, "status": 1}
    assert v.frame["coupon"].tolist()[:2] == [True, False]
    assert v.reasons[UNKNOWN_VALUE] == (1 + 1 if unknown == "quarantine" else 1)
    # the unmapped boolean Y is always refused: its column quarantines unknown values
    assert 5 in v.quarantine.index
    if unknown == "keep":
        assert 3 in v.frame.index and pd.isna(v.frame.loc[3, "status"])
        assert v.frame.loc[1, "status"] == "paid"
    else:
        assert 3 in v.quarantine.index and v.quarantine.loc[3, "_column"] == "status"
    assert len(v.frame) + len(v.quarantine) == 5  # every row accounted for


def test_boolean_values_become_lowercase_meanings() -> None:
    col = Column.model_validate(
        {"category": "user.behavior", "role": "attribute", "type": "boolean", "treatment": "keep",
         "values": {"是": True, "否": False}}
    )  # fmt: skip
    assert col.values == {"是": "true", "否": "false"}
