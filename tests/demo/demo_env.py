"""Constants shared by the demo generator's tests (a uniquely named module, not ``conftest``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
N_USERS = 400
