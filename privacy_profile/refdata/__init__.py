"""Reference tables shipped with the package, shared by ingestion and PII scanning.

* ``cn_admin_provinces.csv``, ``cn_admin_cities.csv``, ``cn_admin_areas.csv``: China's
  administrative division codes and names (NBS 2023), from modood/Administrative-divisions-of-China
  under the WTFPL (``LICENSE.cn_admin_divisions.txt``). Used by ``city_to_province``
  generalization, the resident-ID area check and the address recognizer.
* ``cn_bankcard_bin.csv``: Chinese bank card BIN prefixes with bank, type and length, from
  hexindai/bcbc under the MIT licence (``LICENSE.cn_bankcard_bin.txt``). Used by the bank-card
  recognizer.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

__all__ = ["read_rows"]


@cache
def read_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of a shipped CSV table, as dictionaries (read once, then cached)."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines()))
