"""A small made-up shop unlike the demo: Chinese headers, a GBK orders file, 是/否 flags,
已支付 statuses, different id column names per table, and planted distinctive values."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

PLANTED = (
    "张三丰测试",  # a nickname
    "神秘状态X",  # a status word outside the vocabulary
    "13912345678",  # a phone number
    "M100007",  # a member id
    "SKU42",  # an item id
    "请尽快发货",  # a remark
    "NV-ZZ-2099",  # a notice version
    "钻石会员Q",  # a member level
)


def make_shop(folder: Path, n: int = 300, seed: int = 1, consent_table: bool = False) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "会员.csv").open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["会员ID", "手机号", "昵称", "性别", "出生日期", "城市", "会员等级", "渠道",
             "同意营销", "备用字段", "注册时间"]
        )  # fmt: skip
        for i in range(n):
            w.writerow(
                [
                    f"M{100000 + i}" if i != 7 else "M100007",
                    "13912345678" if i == 3 else f"139{rng.randrange(10**8):08d}",
                    "张三丰测试" if i == 5 else rng.choice(["小李", "王五", "赵六"]),
                    rng.choice(["男", "女"]),
                    f"{rng.randrange(1960, 2010)}-0{rng.randrange(1, 9)}-1{rng.randrange(9)}",
                    rng.choice(["杭州市", "上海市", "成都市"]),
                    "钻石会员Q" if i == 9 else rng.choice(["普通会员", "金卡会员"]),
                    rng.choice(["小程序", "公众号", "门店"]),
                    rng.choice(["是", "否"]),
                    f"137{rng.randrange(10**8):08d}",  # an unlabelled column holding phones
                    f"2025/0{rng.randrange(1, 9)}/1{rng.randrange(9)} 10:00:00",
                ]
            )
    with (folder / "订单.csv").open("w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(["订单号", "用户ID", "实付金额", "订单状态", "下单时间", "品类", "备注"])
        for i in range(n * 3):
            w.writerow(
                [
                    f"DD{900000 + i}",
                    f"M{100000 + rng.randrange(n)}",
                    f"{rng.uniform(5, 800):.2f}",
                    "神秘状态X" if i == 11 else rng.choice(["已支付", "已退款"]),
                    f"2026-0{rng.randrange(1, 9)}-1{rng.randrange(9)} 12:00:00",
                    rng.choice(["女装", "数码"]),
                    rng.choice(["", "请尽快发货", "麻烦周末送到公司前台，到了打我电话"]),
                ]
            )
    with (folder / "behavior.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n * 5):
            rec = {
                "uid": f"M{100000 + rng.randrange(n)}",
                "action": rng.choice(["浏览", "加购", "收藏", "购买"]),
                "ts": 1760000000 + i * 37,
                "item": "SKU42" if i == 2 else f"SKU{rng.randrange(100, 199)}",
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    if consent_table:
        with (folder / "授权记录.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["用户编号", "授权用途", "状态", "记录时间", "隐私政策版本"])
            for i in range(n):
                w.writerow(
                    [
                        f"M{100000 + i}",
                        "marketing.advertising.profiling",
                        rng.choice(["同意", "撤回"]),
                        "2026-01-02T03:04:05",
                        "NV-ZZ-2099",
                    ]
                )
    return folder
