"""Issue 14 item 5 (signatures): each run signs the run-log head with Ed25519, so anyone
holding the public key detects a truncated or re-hashed run log."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from _rel_helpers import NOW, POLICY, PURPOSE, SmallShop
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.engine import sanitize_then_segment
from privacy_profile.errors import AuditError
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage.audit import verify_run
from privacy_profile.lineage.runlog import canonical_json
from privacy_profile.lineage.signing import RunLogSigner, load_public_key

runner = CliRunner()


@dataclass(frozen=True)
class Signed:
    root: Path
    run_id: str
    public_key_file: Path


@pytest.fixture(scope="module")
def signed(small_shop: SmallShop, tmp_path_factory: pytest.TempPathFactory) -> Signed:
    root = tmp_path_factory.mktemp("signed")
    signer = RunLogSigner.from_secret(secrets.token_bytes(32), key_id="test")
    pub = root / "pub.hex"
    pub.write_text(signer.public_hex() + "\n", encoding="utf-8")
    out = root / "out"
    out.mkdir()
    with open_ledger(out / "ledger.sqlite", small_shop.loaded.policy) as ledger:
        rel = sanitize_then_segment(
            small_shop.input_dir,
            small_shop.loaded,
            PURPOSE,
            KeyRing.development(small_shop.loaded.policy),
            ledger,
            out,
            now=NOW,
            signer=signer,
        )
    return Signed(out, rel.run_id, pub)


def _copy(s: Signed, tmp_path: Path) -> Path:
    dest = tmp_path / "out"
    shutil.copytree(s.root, dest)
    return dest


def _verify(root: Path, s: Signed) -> str:
    return verify_run(
        root / "runs" / s.run_id,
        ledger_path=root / "ledger.sqlite",
        public_key=load_public_key(s.public_key_file),
    ).summary()


def test_signed_run_verifies(signed: Signed, tmp_path: Path) -> None:
    assert "valid Ed25519 signature" in _verify(_copy(signed, tmp_path), signed)


def test_truncated_log_fails(signed: Signed, tmp_path: Path) -> None:
    root = _copy(signed, tmp_path)
    log = root / "runs" / "runlog.jsonl"
    lines = log.read_text("utf-8").splitlines(keepends=True)
    assert json.loads(lines[-1])["kind"] == "head_signature"
    log.write_text("".join(lines[:-1]), encoding="utf-8")  # the chain itself stays intact
    with pytest.raises(AuditError, match="truncated"):
        _verify(root, signed)


def test_rehashed_log_fails(signed: Signed, tmp_path: Path) -> None:
    """Edit an output record and re-hash the whole chain after it: still consistent as a
    chain, but the signature no longer matches."""
    import hashlib

    root = _copy(signed, tmp_path)
    log = root / "runs" / "runlog.jsonl"
    recs = [json.loads(x) for x in log.read_text("utf-8").splitlines()]
    prev = None
    for r in recs:
        if r["kind"] == "output" and prev is None:
            r["payload"]["bytes"] += 1
            prev = "edit"
    h = "sha256:" + "0" * 64
    for r in recs:
        r["prev_hash"] = h
        body = {k: r[k] for k in ("seq", "time", "run_id", "kind", "payload", "prev_hash")}
        r["hash"] = h = "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()
    log.write_text("".join(canonical_json(r) + "\n" for r in recs), encoding="utf-8")
    with pytest.raises(AuditError, match="re-hashed"):
        _verify(root, signed)


def test_other_public_key_fails(signed: Signed, tmp_path: Path) -> None:
    root = _copy(signed, tmp_path)
    other = tmp_path / "other.hex"
    other.write_text(RunLogSigner.development_key().public_hex(), encoding="utf-8")
    with pytest.raises(AuditError, match="another key"):
        verify_run(
            root / "runs" / signed.run_id,
            ledger_path=root / "ledger.sqlite",
            public_key=load_public_key(other),
        )


def test_cli_signs_with_a_key_file_and_audit_checks_it(
    small_shop: SmallShop, tmp_path: Path
) -> None:
    key = tmp_path / "signing.key"
    key.write_text(secrets.token_hex(32), encoding="ascii")
    os.chmod(key, 0o600)
    out = tmp_path / "out"
    out.mkdir()
    args = ["run", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys"]
    args += ["--allow-development-keys-i-know", "--signing-key", str(key)]
    args += ["--input", str(small_shop.input_dir), "--out", str(out)]
    result = runner.invoke(app, [*args, "--ledger", str(out / "l.sqlite")])
    assert result.exit_code == 0, result.output + result.stderr
    assert key.read_text("ascii") not in result.output + result.stderr
    pub_hex = result.stdout.split("public key (for auditors): ")[1].split()[0]
    pub = tmp_path / "pub.hex"
    pub.write_text(pub_hex, encoding="utf-8")
    run_dir = next(p for p in (out / "runs").iterdir() if p.is_dir())
    audit = ["audit", "verify", str(run_dir), "--ledger", str(out / "l.sqlite"), "--no-pii-scan"]
    ok = runner.invoke(app, [*audit, "--public-key", str(pub)])
    assert ok.exit_code == 0, ok.output + ok.stderr
    assert "valid Ed25519 signature" in ok.stdout
