"""`privacy-profile demo` runs from a folder that is not the repository (packaged policy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_from_an_empty_directory(tmp_path: Path) -> None:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from privacy_profile.cli import main; main()"]
    # 1500 users: with 300, k-anonymity (k=10) suppresses every subject and pre-flight
    # refuses the run before any budget is spent
    args = ["demo", "--out", "X", "--users", "1500"]
    proc = subprocess.run(
        [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    runs = [p for p in (cwd / "X" / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1
    assert (runs[0] / "marketing" / "segments.csv").is_file()
    assert not (cwd / "policies").exists()
