"""Where does each engine run out of memory? ``sanitize`` (or a whole run) under a memory cap.

    .venv/bin/python benchmarks/spark_scale_bench.py --sizes 2,5,10,15,20 --engines pandas \\
        --cap-gib 4 --dir /tmp/scale

For each size (millions of events) the inputs are generated once with
``benchmarks/spark_ingest_bench.py --generate-only`` (policies/wechat_shop.yaml's tables,
``--events-per-user`` events per user, so ``size * 1e6 / events-per-user`` users; about 6 s
per million events), then each engine runs in a fresh child process whose whole process tree
(for Spark: the driver, its JVM and the Python workers) is placed in a memory cgroup limited
to ``--cap-gib`` GiB, with no swap:

- default: the child of ``spark_ingest_bench.py --child ENGINE``, which runs
  :func:`privacy_profile.ingest.sanitize` (PII scanner on; Spark with ``SparkBackend`` on
  ``--master``);
- ``--e2e``: :func:`privacy_profile.engine.sanitize_then_segment` (segments, personas, the
  release guard and lineage) with development keys and a fresh SQLite ledger in a temporary
  directory (the demo policy's budget of 10 covers one run's 4.9).

It prints a markdown table: engine, events, wall seconds of the child process (imports and
Spark session start included), the stage's own seconds, the cgroup's peak usage (page cache
included: reading a large file fills the cap with reclaimable cache), the peak resident memory
of the tree (sampled from the cgroup's statistics), and the outcome: ``ok``, ``out of memory
at the cap`` (the kernel killed a process of the tree), ``failed`` (with the error's last
line, e.g. a Java heap ``OutOfMemoryError``) or ``timeout``; then the slope of wall time over
size, in seconds per million events, over the sizes that finished. Each size's inputs are
deleted after its runs unless ``--keep-data``.

The cap needs a writable memory cgroup: cgroup v1 (``/sys/fs/cgroup/memory``) or cgroup v2
with the memory controller enabled (``memory.max``), usually as root. Without one the script
stops with a message; ``--cap-gib 0`` runs uncapped (the peak is then the process tree's
resident memory, sampled from /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INGEST_BENCH = HERE / "spark_ingest_bench.py"
ENGINES = ("pandas", "spark")
V1_ROOT, V2_ROOT = Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup")
MIB = 1024 * 1024
GIB = 1024 * MIB


def _load_ingest_bench() -> Any:
    """spark_ingest_bench.py as a module: its generator, child, policy, purpose and clock."""
    spec = importlib.util.spec_from_file_location("spark_ingest_bench", INGEST_BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ingest_bench = _load_ingest_bench()


# --- pure parts (tested in tests/benchmarks/test_spark_scale_bench.py) ---------------------


def parse_sizes(text: str) -> list[float]:
    """``"2,5,10.5"`` -> ``[2.0, 5.0, 10.5]`` (millions of events), positive, ascending order."""
    try:
        sizes = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--sizes {text!r}: give millions of events separated by commas, e.g. 2,5,10"
        ) from None
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"--sizes {text!r}: every size must be above 0")
    return sorted(set(sizes))


def parse_engines(text: str) -> list[str]:
    """``"pandas,spark"`` -> ``["pandas", "spark"]``; unknown names are refused."""
    engines = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if not engines or unknown:
        raise argparse.ArgumentTypeError(
            f"--engines {text!r}: choose among {', '.join(ENGINES)} (comma-separated)"
        )
    return list(dict.fromkeys(engines))


def users_for(size_m: float, events_per_user: float) -> int:
    """The generator's user count for about ``size_m`` million events."""
    return max(1, round(size_m * 1_000_000 / events_per_user))


@dataclass(frozen=True)
class Result:
    """One engine at one size. ``outcome``: ``ok``, ``oom``, ``failed`` or ``timeout``."""

    engine: str
    size_m: float
    events: int
    outcome: str
    wall_s: float
    stage_s: float | None = None
    peak_mib: float | None = None  # the cgroup's peak usage, page cache included
    rss_mib: float | None = None  # peak resident (anonymous) memory of the process tree
    detail: str = ""


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of seconds over millions of events; ``None`` below two sizes."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        return None
    mx = sum(xs) / len(xs)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def outcome_text(r: Result, cap_gib: float) -> str:
    if r.outcome == "ok":
        return "ok"
    if r.outcome == "oom":
        text = f"**out of memory** at the {cap_gib:g} GiB cap"
    elif r.outcome == "timeout":
        text = "timeout"
    else:
        text = "**failed**"
    return f"{text} ({r.detail})" if r.detail else text


def _num(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def render_table(results: Sequence[Result], cap_gib: float) -> str:
    """The markdown table and, per engine, the slope over the sizes that finished."""
    lines = [
        "| engine | events | wall s | stage s | peak MiB (cgroup, page cache incl.) "
        "| peak RSS MiB (tree) | outcome |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.engine} | {r.events:,} | {_num(r.wall_s)} | {_num(r.stage_s)} "
            f"| {_num(r.peak_mib, 0)} | {_num(r.rss_mib, 0)} | {outcome_text(r, cap_gib)} |"
        )
    lines.append("")
    for engine in dict.fromkeys(r.engine for r in results):
        ok = [
            (r.events / 1e6, r.wall_s) for r in results if r.engine == engine and r.outcome == "ok"
        ]
        where = f"over the {len(ok)} sizes that finished" if ok else "no size finished"
        lines.append(f"slope {engine}: {_num(slope(ok), 2)} s per million events ({where})")
    return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    """What one capped child did: exit code, output, wall time, memory, kernel OOM kills."""

    returncode: int
    stdout: str
    stderr_tail: str
    wall_s: float
    peak: int | None  # the cgroup's peak usage in bytes (None uncapped)
    rss: int  # the sampled peak resident bytes of the tree
    oom_kills: int
    timed_out: bool = False


def classify(run: Run) -> tuple[str, str]:
    """The outcome and its detail from the child's exit and the cgroup's OOM-kill count."""
    rc = run.returncode
    if run.timed_out:
        return "timeout", f"killed after {run.wall_s:.0f} s"
    if run.oom_kills > 0 or rc == -signal.SIGKILL:
        who = "the child itself" if rc == -signal.SIGKILL else f"the child then exited {rc}"
        return "oom", f"{run.oom_kills} process(es) killed by the kernel, {who}"
    if rc == 0:
        return "ok", ""
    if "OutOfMemoryError" in run.stderr_tail:
        return "failed", "java.lang.OutOfMemoryError in the JVM"
    tail = run.stderr_tail.splitlines()
    last = next((ln.strip() for ln in reversed(tail) if ln.strip()), "")
    return "failed", f"exit {rc}: {last[:160]}"


# --- the memory cap -----------------------------------------------------------------------


class CapUnavailable(RuntimeError):
    """No writable memory cgroup on this machine."""


class MemoryCgroup:
    """A memory cgroup (v1 or v2) limited to ``limit`` bytes, no swap; removed by ``remove``."""

    def __init__(self, path: Path, v2: bool) -> None:
        self.path, self.v2 = path, v2

    @classmethod
    def create(
        cls, name: str, limit: int, *, v1_root: Path = V1_ROOT, v2_root: Path = V2_ROOT
    ) -> MemoryCgroup:
        if (v1_root / "memory.limit_in_bytes").is_file():
            root, v2 = v1_root, False
        elif "memory" in _read(v2_root / "cgroup.controllers").split():
            root, v2 = v2_root, True
        else:
            raise CapUnavailable(
                "no memory cgroup: neither cgroup v1 (/sys/fs/cgroup/memory) nor cgroup v2 "
                "with the memory controller is mounted; run with --cap-gib 0 (no cap)"
            )
        group = cls(root / name, v2)
        hint = (
            "run as root (cgroup v1), or delegate the memory controller to this user "
            "(cgroup v2: memory.max); or run with --cap-gib 0 (no cap)"
        )
        try:
            group.path.mkdir()
        except OSError as e:
            raise CapUnavailable(
                f"cannot create {group.path} ({e.strerror or e}): {hint}"
            ) from None
        try:
            if v2:
                group._write("memory.max", limit)
                group._write("memory.swap.max", 0, optional=True)
            else:
                group._write("memory.limit_in_bytes", limit)
                group._write("memory.memsw.limit_in_bytes", limit, optional=True)
        except OSError as e:
            group.remove()
            raise CapUnavailable(
                f"cannot limit the memory of {group.path} ({e.strerror or e}): {hint}"
            ) from None
        return group

    def _write(self, name: str, value: int, optional: bool = False) -> None:
        f = self.path / name
        if optional and not f.exists():
            return
        f.write_text(str(value))

    def join(self) -> None:
        """Move the calling process into the group (run in the child before ``exec``)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def rss(self) -> int:
        stat = dict(ln.split() for ln in _read(self.path / "memory.stat").splitlines())
        return int(stat.get("anon" if self.v2 else "total_rss", 0))

    def peak(self) -> int | None:
        text = _read(self.path / ("memory.peak" if self.v2 else "memory.max_usage_in_bytes"))
        return int(text) if text.strip() else None

    def oom_kills(self) -> int:
        text = _read(self.path / ("memory.events" if self.v2 else "memory.oom_control"))
        stat = dict(ln.split() for ln in text.splitlines() if ln.strip())
        return int(stat.get("oom_kill", 0))  # kernels before 4.13: 0 (then SIGKILL tells)

    def remove(self) -> None:
        """Kill what is left of the tree (a JVM or a Python worker) and remove the group."""
        for _ in range(50):
            pids = [int(p) for p in _read(self.path / "cgroup.procs").split()]
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)
        print(f"warning: could not remove {self.path}", file=sys.stderr)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (the uncapped fallback)."""
    return int(ingest_bench._tree_rss_mib(pid) * MIB)


class _Peak(threading.Thread):
    """Samples ``probe()`` four times a second; ``peak`` is the largest value seen."""

    def __init__(self, probe: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.probe, self.peak, self.done = probe, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.peak = max(self.peak, self.probe())


def run_capped(cmd: list[str], cap_gib: float, timeout_s: float, label: str) -> Run:
    """Run ``cmd`` with its process tree in a fresh memory cgroup named ``label`` limited to
    ``cap_gib`` GiB (no cgroup at 0); the child joins the group before it executes ``cmd``."""
    group = MemoryCgroup.create(label, int(cap_gib * GIB)) if cap_gib > 0 else None
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, text=True, preexec_fn=group.join if group else None
        )
        sampler = _Peak(group.rss if group else lambda: _tree_rss(proc.pid))
        sampler.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()
            proc.wait()
        wall = time.perf_counter() - t0
        sampler.done.set()
        sampler.join()
        peak, kills = (group.peak(), group.oom_kills()) if group else (None, 0)
        if group:
            group.remove()
        out.seek(0)
        err.seek(0)
        return Run(
            proc.returncode, out.read(), err.read()[-4000:], wall, peak, sampler.peak, kills,
            timed_out,
        )  # fmt: skip


# --- children -----------------------------------------------------------------------------


def _e2e_child(engine: str, d: Path, master: str) -> dict[str, Any]:
    """``sanitize_then_segment`` on ``d/input``; figures as one JSON line."""
    from privacy_profile import open_ledger, sanitize_then_segment, scanner_for
    from privacy_profile.ingest import KeyRing
    from privacy_profile.policy import load_policy_file

    loaded = load_policy_file(ingest_bench.POLICY)
    backend, session, start_s = None, None, 0.0
    if engine == "spark":
        from privacy_profile.spark import SparkBackend, spark_session

        t0 = time.perf_counter()
        session = spark_session(master)
        start_s = time.perf_counter() - t0
        backend = SparkBackend(session)
    with tempfile.TemporaryDirectory(prefix="scale-e2e-", dir=d) as tmp:
        t0 = time.perf_counter()
        with open_ledger(Path(tmp) / "ledger.sqlite", loaded.policy) as ledger:
            release = sanitize_then_segment(
                d / "input",
                loaded,
                ingest_bench.PURPOSE,
                KeyRing.development(loaded.policy, seed=b"bench"),
                ledger,
                Path(tmp) / "runs",
                scanner=scanner_for(loaded.policy),
                now=ingest_bench.NOW,
                backend=backend,
            )
        seconds = time.perf_counter() - t0
    if session is not None:
        session.stop()
    return {
        "stage_s": round(seconds, 1),
        "session_start_s": round(start_s, 1),
        "reconciles": release.ingest.reconciles(),
        "segment_rows": len(release.segments),
    }


def _child_cmd(engine: str, d: Path, master: str, e2e: bool) -> list[str]:
    """sanitize: spark_ingest_bench.py's child; ``e2e``: this script's own child."""
    script, flag = (__file__, "--e2e-child") if e2e else (str(INGEST_BENCH), "--child")
    return [sys.executable, script, flag, engine, "--dir", str(d), "--master", master]


def _generate(d: Path, size_m: float, per_user: float) -> int:
    cmd = [sys.executable, str(INGEST_BENCH), "--users", str(users_for(size_m, per_user))]
    cmd += ["--events-per-user", str(per_user), "--dir", str(d), "--generate-only"]
    d.mkdir(parents=True, exist_ok=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return int(json.loads((d / "input" / ".rows.json").read_text()))


def measure(a: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    for size in a.sizes:
        d = a.dir / f"{size:g}m"
        t0 = time.perf_counter()
        events = _generate(d, size, a.events_per_user)
        print(f"# {size:g}M: {events:,} events in {d} ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)  # fmt: skip
        for engine in a.engines:
            label = f"pp-scale-{os.getpid()}-{engine}-{size:g}m".replace(".", "_")
            run = run_capped(
                _child_cmd(engine, d, a.master, a.e2e), a.cap_gib, a.timeout_min * 60, label
            )
            outcome, detail = classify(run)
            stage = None
            if outcome == "ok":
                figures = json.loads(run.stdout.strip().splitlines()[-1])
                stage = figures.get("stage_s", figures.get("sanitize_s"))
                if figures.get("reconciles") is False:  # --e2e: every row accounted for?
                    outcome, detail = "failed", "the row counts do not reconcile"
            name = engine if engine == "pandas" else f"spark {a.master}"
            peak = run.peak / MIB if run.peak else None
            r = Result(name, size, events, outcome, run.wall_s, stage, peak, run.rss / MIB, detail)
            print(f"# {r}", file=sys.stderr, flush=True)
            results.append(r)
        if not a.keep_data:
            shutil.rmtree(d)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--sizes", type=parse_sizes, default=parse_sizes("2,5,10"),
                    help="millions of events, comma-separated (default 2,5,10)")  # fmt: skip
    ap.add_argument("--engines", type=parse_engines, default=list(ENGINES))
    ap.add_argument("--cap-gib", type=float, default=4.0, help="memory cap; 0 runs uncapped")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/pp-scale"))
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--events-per-user", type=float, default=40)
    ap.add_argument("--e2e", action="store_true", help="run sanitize_then_segment, not sanitize")
    ap.add_argument("--keep-data", action="store_true", help="keep each size's generated inputs")
    ap.add_argument("--timeout-min", type=float, default=30, help="per engine and size")
    ap.add_argument("--json", type=Path, help="also write the results to this file")
    ap.add_argument("--e2e-child", choices=ENGINES, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.e2e_child:
        print(json.dumps(_e2e_child(a.e2e_child, a.dir, a.master)))
        return
    if a.cap_gib > 0:
        try:  # fail before generating anything
            MemoryCgroup.create(f"pp-scale-{os.getpid()}-probe", GIB).remove()
        except CapUnavailable as e:
            sys.exit(f"spark_scale_bench: {e}")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    results = measure(a)
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    what = "sanitize_then_segment" if a.e2e else "sanitize"
    print(f"{what}; cap {a.cap_gib:g} GiB" if a.cap_gib > 0 else f"{what}; no cap")
    print(f"load average (1, 5, 15 min) before {load}, after {load_after}\n")
    print(render_table(results, a.cap_gib))
    if a.json:
        a.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))


if __name__ == "__main__":
    main()
