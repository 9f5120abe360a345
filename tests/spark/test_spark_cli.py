"""``privacy-profile run --engine spark``: a CLI run on the active local[2] session releases,
records the Spark application id in its lineage and passes ``audit verify``; an unknown engine
is a clear error before anything is read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from privacy_profile.demo import generate_demo_data
from privacy_profile.ingest import KeyRing
from privacy_profile.policy import LoadedPolicy

from .conftest import PURPOSE


def test_cli_run_with_engine_spark_and_audit_verify(
    demo: tuple[LoadedPolicy, Path, KeyRing], spark: Any, tmp_path: Path, policy_file: Path
) -> None:
    from typer.testing import CliRunner

    from privacy_profile.cli import app

    runner = CliRunner()
    loaded = demo[0]
    # the CLI measures recency to the clock: data generated up to now; 800 users keep the
    # units with a paid order (about 0.17 per user) well above the threshold of 50 at any hour
    data = generate_demo_data(
        tmp_path / "data", n_users=800, seed=12, now=dt.datetime.now(dt.UTC), policy=loaded.policy
    )
    input_dir = data.input_dir
    out, ledger = tmp_path / "out", tmp_path / "ledger.sqlite"
    args = ["run", "--policy", str(policy_file), "--purpose", PURPOSE, "--dev-keys"]
    args += ["--allow-development-keys-i-know"]
    args += ["--input", str(input_dir), "--out", str(out), "--ledger", str(ledger)]
    result = runner.invoke(app, [*args, "--engine", "spark"])  # reuses the active session
    assert result.exit_code == 0, result.stderr
    assert "epsilon spent (this run)" in result.stdout
    (run_dir,) = [p for p in (out / "runs").iterdir() if p.is_dir()]
    verified = runner.invoke(app, ["audit", "verify", str(run_dir), "--ledger", str(ledger)])
    assert verified.exit_code == 0, verified.stderr
    events = (run_dir / "lineage" / "events.jsonl").read_text(encoding="utf-8")
    assert spark.sparkContext.applicationId in events


def test_cli_run_with_an_unknown_engine_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from privacy_profile.cli import app

    args = ["run", "--policy", "policies/wechat_shop.yaml", "--purpose", PURPOSE, "--dev-keys"]
    args += ["--allow-development-keys-i-know"]
    args += ["--input", str(tmp_path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(
        app, [*args, "--ledger", str(tmp_path / "l.sqlite"), "--engine", "dask"]
    )
    assert result.exit_code == 1
    assert "unknown engine 'dask'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_run_passes_the_staging_directory_to_the_spark_backend(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from typer.testing import CliRunner

    import privacy_profile.spark.session as session
    from privacy_profile.cli import app

    asked: list[tuple[str, str | None, str | None]] = []

    def backend(engine: str, master: str | None = None, *, staging: str | None = None) -> Any:
        asked.append((engine, master, staging))
        raise session.InputError("stop here", hint="(test)")

    monkeypatch.setattr(session, "ingest_backend", backend)
    args = ["run", "--policy", "policies/wechat_shop.yaml", "--purpose", PURPOSE, "--dev-keys"]
    args += ["--allow-development-keys-i-know", "--input", str(tmp_path)]
    args += ["--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "l.sqlite")]
    args += ["--engine", "spark", "--spark-master", "spark://head:7077"]
    result = CliRunner().invoke(app, [*args, "--spark-staging", "hdfs:///pp/staging"])
    assert asked == [("spark", "spark://head:7077", "hdfs:///pp/staging")]
    assert result.exit_code == 1 and "stop here" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_staging_directory_without_the_spark_engine_is_refused() -> None:
    import pytest

    from privacy_profile.errors import InputError
    from privacy_profile.spark.session import ingest_backend

    with pytest.raises(InputError, match="Spark engine only"):
        ingest_backend("pandas", staging="/tmp/x")
