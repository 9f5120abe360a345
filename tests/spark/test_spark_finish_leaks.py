"""The raw-identifier search the executors run over kept rows (no Spark needed): a string
cell holding an indexed identifier is found per column and category; the driver's refusal
names what the executors found."""

from __future__ import annotations

import pandas as pd
import pytest

from privacy_profile.errors import LeakDetectedError
from privacy_profile.ingest import IdentifierIndex
from privacy_profile.ingest.sanitize import refuse_raw_identifiers, string_leaks


def test_string_leaks_finds_indexed_values_in_string_columns_only() -> None:
    index = IdentifierIndex()
    index.add(pd.Series(["13912345678"], dtype="string"), "user.contact.phone_number")
    (label,) = index.find(["13912345678"])
    frame = pd.DataFrame(
        {
            "note": pd.Series(["call 13912345678", "fine", None], dtype="string"),
            "amount": [1.0, 2.0, 3.0],
            "unit": pd.Series(["p1", "p2", "p3"], dtype="string"),
        }
    )
    found = string_leaks(index, frame)
    assert found == {f"note ({label}": 1}
    assert string_leaks(index, frame.drop(columns="note")) == {}


def test_refusal_names_what_an_engine_found() -> None:
    with pytest.raises(LeakDetectedError, match=r"events\.note \(PHONE_NUMBER, 2 distinct"):
        refuse_raw_identifiers(
            IdentifierIndex(), {}, found=["events.note (PHONE_NUMBER, 2 distinct values)"]
        )
    refuse_raw_identifiers(IdentifierIndex(), {"t": pd.DataFrame({"a": ["x"]})})
