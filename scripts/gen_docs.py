"""Regenerate docs/cli.md, docs/policy-reference.md and policies/policy.schema.json."""

from __future__ import annotations

from pathlib import Path

from privacy_profile._docgen import generated_files

ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    for path, text in generated_files(ROOT).items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
