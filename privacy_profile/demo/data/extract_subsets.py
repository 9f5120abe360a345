"""Rebuild the small data subsets shipped here from ../shared/data (a maintainer tool).

Run from the repository root: ``.venv/bin/python privacy_profile/demo/data/extract_subsets.py``.
It writes ``cn_divisions_subset.csv`` (WTFPL, modood/Administrative-divisions-of-China, NBS 2023)
and ``cn_bankcard_bin_subset.csv`` (MIT, hexindai/bcbc); see the LICENSE files beside them.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[3] / "shared" / "data"

# City (prefecture or municipality code) -> sampling weight: tier-1 cities weigh most.
CITIES: dict[str, int] = {
    # tier 1
    "11": 60, "31": 60, "4401": 55, "4403": 55,
    # new tier 1
    "5101": 35, "3301": 35, "50": 30, "4201": 30, "6101": 25, "3205": 25, "3201": 25,
    "12": 22, "4301": 22, "4101": 22, "4419": 20, "3702": 20, "3401": 18, "3302": 18,
    "4406": 18,
    # tier 2 and 3
    "2101": 10, "5301": 10, "3502": 10, "3501": 10, "3701": 10, "2301": 8, "4501": 8,
    "3303": 8, "1301": 8, "3601": 8, "5201": 7, "1401": 7, "4103": 5, "6201": 5, "6501": 5,
    "1501": 4, "4503": 4, "3607": 4,
}  # fmt: skip
MAX_DISTRICTS = 6
BINS = (
    "622202", "622208", "621226", "427020",  # ICBC
    "621700", "622700", "436742", "625965",  # CCB
    "622848", "403361",  # ABC
    "621661", "409666",  # BOC
    "622588", "621483", "439188",  # CMB
    "622260",  # COMM
    "621799",  # PSBC
)  # fmt: skip


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def main() -> int:
    div = SHARED / "cn_admin_divisions"
    provinces = {r["code"]: r["name"] for r in _read(div / "provinces.csv")}
    cities = {r["code"]: r["name"] for r in _read(div / "cities.csv")}
    areas = _read(div / "areas.csv")
    rows: list[list[str]] = []
    for key, weight in CITIES.items():
        if len(key) == 2:  # a municipality: its districts sit under <pp>01
            picked = [a for a in areas if a["provinceCode"] == key and a["name"].endswith("区")]
            city = provinces[key]
        else:
            picked = [a for a in areas if a["cityCode"] == key]
            districts = [a for a in picked if a["name"].endswith("区")]
            picked = districts or picked
            city = cities[key]
        picked = picked[:MAX_DISTRICTS]
        if not picked:
            print(f"no area for {key}", file=sys.stderr)
            return 1
        for a in picked:
            province = provinces[a["provinceCode"]]
            rows.append([a["code"], a["name"], city, province, f"{weight / len(picked):.4f}"])
    with (HERE / "cn_divisions_subset.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["area_code", "district", "city", "province", "weight"])
        w.writerows(rows)

    bins = {r["bin"]: r for r in _read(SHARED / "cn_bankcard_bin" / "bin.csv")}
    names = {r["bank"]: r["name"] for r in _read(SHARED / "cn_bankcard_bin" / "name.csv")}
    with (HERE / "cn_bankcard_bin_subset.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["bin", "bank", "bank_name", "type", "length"])
        for b in BINS:
            r = bins[b]
            w.writerow([b, r["bank"], names[r["bank"]], r["type"], r["length"]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
