"""`privacy-profile init` on a 10M-event export: time and peak memory (it reads samples only).

Generates (once, into ``--data``) a shop export unlike the demo: ``会员.csv`` (UTF-8 with BOM,
Chinese headers), ``订单.csv`` (GBK) and ``行为.csv`` with ``--events`` rows (UTF-8), then runs
``privacy-profile init`` in a child process, ``--runs`` times, and reports the wall time and the
child's peak resident memory (``ru_maxrss``), with the PII scanner on (the default).

    python benchmarks/init_bench.py [--events 10000000] [--members 200000] [--orders 1000000]
        [--data /tmp/init-bench] [--runs 3]

The goal (issue 12): under 30 s and under 1 GB on the 10M-event export.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

CHUNK = 1_000_000


def _members(path: Path, n: int, rng: np.random.Generator) -> None:
    ids = np.char.add("M", np.arange(1_000_000, 1_000_000 + n).astype(str))
    frame = pd.DataFrame(
        {
            "会员ID": ids,
            "手机号": np.char.add("139", rng.integers(10**7, 10**8, n).astype(str)),
            "昵称": rng.choice(["小李", "王五", "赵六", "阿花"], n),
            "性别": rng.choice(["男", "女"], n),
            "出生日期": pd.to_datetime(rng.integers(0, 15000, n), unit="D", origin="1960-01-01")
            .strftime("%Y-%m-%d")
            .to_numpy(),
            "城市": rng.choice(["杭州市", "上海市", "成都市", "广州市"], n),
            "会员等级": rng.choice(["普通会员", "银卡会员", "金卡会员"], n),
            "渠道": rng.choice(["小程序", "公众号", "门店", "APP"], n),
            "同意营销": rng.choice(["是", "否"], n),
        }
    )
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _orders(path: Path, n: int, members: int, rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "订单号": np.char.add("DD", np.arange(n).astype(str)),
            "用户ID": np.char.add("M", (1_000_000 + rng.integers(0, members, n)).astype(str)),
            "实付金额": rng.gamma(2.0, 80.0, n).round(2),
            "订单状态": rng.choice(["已支付", "已退款"], n, p=[0.9, 0.1]),
            "下单时间": pd.to_datetime(1_735_689_600 + rng.integers(0, 3e7, n), unit="s")
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_numpy(),
            "品类": rng.choice(["女装", "数码", "美妆", "食品"], n),
        }
    )
    frame.to_csv(path, index=False, encoding="gbk")


def _events(path: Path, n: int, members: int, rng: np.random.Generator) -> None:
    with pacsv.CSVWriter(
        str(path),
        pa.schema([(c, pa.string()) for c in ("uid", "行为类型", "行为时间", "商品ID")]),
    ) as writer:
        for start in range(0, n, CHUNK):
            k = min(CHUNK, n - start)
            ts = 1_735_689_600 + start + np.arange(k)
            batch = pa.table(
                {
                    "uid": np.char.add("M", (1_000_000 + rng.integers(0, members, k)).astype(str)),
                    "行为类型": rng.choice(["浏览", "加购", "收藏", "购买"], k),
                    "行为时间": pd.to_datetime(ts, unit="s").strftime("%Y-%m-%d %H:%M:%S"),
                    "商品ID": np.char.add("SKU", rng.integers(0, 50_000, k).astype(str)),
                }
            )
            writer.write_table(batch)


def make_export(folder: Path, *, events: int, members: int, orders: int) -> Path:
    marker = folder / f".complete-{events}-{members}-{orders}"
    if marker.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    _members(folder / "会员.csv", members, rng)
    _orders(folder / "订单.csv", orders, members, rng)
    _events(folder / "行为.csv", events, members, rng)
    marker.write_text("ok\n", encoding="utf-8")
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--members", type=int, default=200_000)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "init-bench")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    t0 = time.perf_counter()
    folder = make_export(args.data, events=args.events, members=args.members, orders=args.orders)
    size = sum(p.stat().st_size for p in folder.glob("*.csv"))
    print(f"export: {folder} ({size / 2**20:.0f} MiB, generated/checked in "
          f"{time.perf_counter() - t0:.1f} s)")  # fmt: skip
    times = []
    for i in range(args.runs):
        out = folder.parent / f"init-bench-policy-{i}.yaml"
        cmd = [
            sys.executable,
            "-c",
            "from privacy_profile.cli import main; main()",
            "init",
            "--input",
            str(folder),
            "--out",
            str(out),
            "--force",
        ]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
        out.unlink()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB
    print(f"init: median {statistics.median(times):.1f} s over {args.runs} runs "
          f"(min {min(times):.1f}, max {max(times):.1f}); peak RSS {peak:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
