"""A small shop with one run and one sanitized store, made with fixed test keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from privacy_profile import open_ledger, sanitize_then_segment, scanner_for
from privacy_profile.demo import DemoDataset, generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.engine import Release
from privacy_profile.ingest import KeyRing, sanitize_to_dir
from privacy_profile.lineage.runlog import RunLog
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.rights import RightsRegister, identify

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
SEED = b"rights-tests"


@dataclass
class World:
    root: Path
    data: DemoDataset
    loaded: LoadedPolicy
    keys: KeyRing
    release: Release
    store: Path

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def run_log(self) -> RunLog:
        return RunLog(self.runs / "runlog.jsonl")

    def register(self) -> RightsRegister:
        return RightsRegister(self.root / "rights.sqlite", self.loaded.policy, run_log=self.run_log)

    def raw(self, table: str) -> pd.DataFrame:
        return pd.read_csv(self.data.input_dir / f"{table}.csv", dtype=str)

    def run(self, register: RightsRegister | None, seed: int) -> Release:
        with open_ledger(self.root / "ledger.sqlite", self.loaded.policy) as ledger:
            return sanitize_then_segment(
                self.data.input_dir,
                self.loaded,
                PURPOSE,
                self.keys,
                ledger,
                self.root,
                scanner=scanner_for(self.loaded.policy),
                rng=DPRandom.for_testing(seed),
                now=NOW,
                suppression=None if register is None else register.suppression(),
            )

    def sanitize(self, register: RightsRegister | None) -> None:
        sanitize_to_dir(
            self.data.input_dir,
            self.loaded,
            PURPOSE,
            self.keys,
            self.store,
            scanner=scanner_for(self.loaded.policy),
            now=NOW,
            suppression=None if register is None else register.suppression(),
        )

    def subjects_everywhere(self) -> list[str]:
        """Raw ids whose pseudonym is in every sanitized table and in some audience."""
        tables = {
            t: pd.read_parquet(self.store / f"{t}.parquet") for t in ("users", "events", "orders")
        }
        shared = set(tables["users"]["openid"])
        for t in ("events", "orders"):
            shared &= set(tables[t]["openid"])
        tokens: set[str] = set()
        for a in self.release.activation_files:
            tokens |= set(pd.read_csv(a, dtype=str)["token"].dropna())
        out = []
        users = self.raw("users")["openid"].dropna().str.strip().drop_duplicates()
        from privacy_profile.ingest.pseudonymize import Tokenizer

        assert self.keys.custodian is not None
        tok = Tokenizer(self.keys.custodian)
        for raw in sorted(users):
            ident = identify(raw, self.loaded.policy, self.keys)
            if (
                ident.pseudonyms["marketing_analytics"] in shared
                and tok.tokenize_values([raw])[0] in tokens
            ):
                out.append(raw)
            if len(out) >= 4:
                break
        return out


def make_world(root: Path, n_users: int = 1500) -> World:
    loaded = load_policy_file(POLICY)
    data = generate_demo_data(root, n_users=n_users, seed=21, now=NOW, policy=loaded.policy)
    keys = KeyRing.development(loaded.policy, seed=SEED)
    with open_ledger(root / "ledger.sqlite", loaded.policy) as ledger:
        release = sanitize_then_segment(
            data.input_dir,
            loaded,
            PURPOSE,
            keys,
            ledger,
            root,
            scanner=scanner_for(loaded.policy),
            rng=DPRandom.for_testing(3),
            now=NOW,
        )
    world = World(root, data, loaded, keys, release, root / "store")
    world.sanitize(None)
    return world
