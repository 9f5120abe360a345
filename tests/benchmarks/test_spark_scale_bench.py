"""The scale benchmark's pure parts: argument parsing, outcome, slope, table; a fake cgroup tree.

No cgroup, no Spark and no timing here: benchmarks/spark_scale_bench.py is loaded as a module.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "spark_scale_bench.py"


@pytest.fixture(scope="module")
def bench() -> Iterator[Any]:
    spec = importlib.util.spec_from_file_location("spark_scale_bench", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_sizes_are_parsed_sorted_and_unique(bench: Any) -> None:
    assert bench.parse_sizes("10, 2,5,2,10.5") == [2.0, 5.0, 10.0, 10.5]


@pytest.mark.parametrize("text", ["", "0", "2,-1", "two"])
def test_bad_sizes_are_refused(bench: Any, text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="--sizes"):
        bench.parse_sizes(text)


def test_engines(bench: Any) -> None:
    assert bench.parse_engines("spark, pandas,spark") == ["spark", "pandas"]
    with pytest.raises(argparse.ArgumentTypeError, match="choose among pandas, spark"):
        bench.parse_engines("pandas,dask")


def test_users_for_a_size(bench: Any) -> None:
    assert bench.users_for(1, 40) == 25_000
    assert bench.users_for(2.5, 50) == 50_000


def test_slope_is_the_least_squares_fit(bench: Any) -> None:
    assert bench.slope([(1.0, 8.0), (2.0, 11.0), (4.0, 17.0)]) == pytest.approx(3.0)
    # not on a line: x mean 2, y mean 4; sxy = (-1)(-4) + 0 + (1)(2) = 6, sxx = 2
    assert bench.slope([(1.0, 0.0), (2.0, 6.0), (3.0, 6.0)]) == pytest.approx(3.0)
    assert bench.slope([(2.0, 5.0)]) is None
    assert bench.slope([(2.0, 5.0), (2.0, 7.0)]) is None
    assert bench.slope([]) is None


def _run(bench: Any, rc: int, kills: int = 0, err: str = "", timed_out: bool = False) -> Any:
    return bench.Run(rc, "", err, 12.0, None, 0, kills, timed_out)


def test_outcomes(bench: Any) -> None:
    assert bench.classify(_run(bench, 0)) == ("ok", "")
    outcome, detail = bench.classify(_run(bench, -signal.SIGKILL, kills=1))
    assert outcome == "oom" and "the child itself" in detail
    outcome, detail = bench.classify(_run(bench, 1, kills=2))  # the JVM was killed
    assert outcome == "oom" and "2 process(es)" in detail and "exited 1" in detail
    assert bench.classify(_run(bench, -signal.SIGKILL))[0] == "oom"  # kernel without a count
    err = "py4j...\njava.lang.OutOfMemoryError: Java heap space\n\tat ..."
    assert bench.classify(_run(bench, 1, err=err)) == (
        "failed",
        "java.lang.OutOfMemoryError in the JVM",
    )
    assert bench.classify(_run(bench, 2, err="Traceback\nValueError: bad\n\n")) == (
        "failed",
        "exit 2: ValueError: bad",
    )
    assert bench.classify(_run(bench, -9, kills=0, timed_out=True))[0] == "timeout"


def test_table_and_slope_over_finished_sizes_only(bench: Any) -> None:
    r = bench.Result
    results = [
        r("pandas", 1, 1_000_000, "ok", 10.0, 8.0, 900.0, 800.0),
        r("pandas", 2, 2_000_000, "ok", 20.0, 18.0, 1500.0, 1400.0),
        r("pandas", 3, 3_000_000, "oom", 99.0, None, 4096.0, 4000.0, "1 process(es) killed"),
        r("spark local[2]", 3, 3_000_000, "failed", 30.0, detail="exit 1: boom"),
    ]
    text = bench.render_table(results, 4)
    rows = [ln for ln in text.splitlines() if ln.startswith("| ")]
    assert len(rows) == 5  # header and four results
    assert rows[1] == "| pandas | 1,000,000 | 10.0 | 8.0 | 900 | 800 | ok |"
    assert "**out of memory** at the 4 GiB cap (1 process(es) killed)" in rows[3]
    assert rows[4].endswith("| 30.0 | - | - | - | **failed** (exit 1: boom) |")
    assert "slope pandas: 10.00 s per million events (over the 2 sizes that finished)" in text
    assert "slope spark local[2]: - s per million events (no size finished)" in text


def test_no_cgroup_gives_a_clear_message(bench: Any, tmp_path: Path) -> None:
    with pytest.raises(bench.CapUnavailable, match="--cap-gib 0"):
        bench.MemoryCgroup.create("x", 1 << 30, v1_root=tmp_path / "v1", v2_root=tmp_path)


def test_v1_group_is_limited_and_read(bench: Any, tmp_path: Path) -> None:
    (tmp_path / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    group = bench.MemoryCgroup.create("g", 4 << 30, v1_root=tmp_path, v2_root=tmp_path / "v2")
    assert not group.v2
    assert (tmp_path / "g" / "memory.limit_in_bytes").read_text() == str(4 << 30)
    (tmp_path / "g" / "memory.stat").write_text("cache 10\nrss 5\ntotal_cache 30\ntotal_rss 7\n")
    (tmp_path / "g" / "memory.max_usage_in_bytes").write_text("123\n")
    (tmp_path / "g" / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
    )
    assert (group.rss(), group.peak(), group.oom_kills()) == (7, 123, 2)


def test_v2_group_is_limited_and_read(bench: Any, tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu io memory pids\n")
    group = bench.MemoryCgroup.create("g", 3 << 30, v1_root=tmp_path / "v1", v2_root=tmp_path)
    assert group.v2
    assert (tmp_path / "g" / "memory.max").read_text() == str(3 << 30)
    (tmp_path / "g" / "memory.stat").write_text("anon 11\nfile 99\n")
    (tmp_path / "g" / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    assert (group.rss(), group.peak(), group.oom_kills()) == (11, None, 1)
