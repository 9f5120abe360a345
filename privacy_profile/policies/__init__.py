"""Example policies shipped inside the package, so the demo and the docs work anywhere.

The repository's top-level ``policies/`` folder is the source of truth; these are byte-identical
copies (``tests/policy/test_packaged_policies.py`` fails when one drifts). Names are the file
names without ``.yaml``: ``wechat_shop``, ``wechat_shop_strict``, ``taobao_userbehavior``,
``uci_online_retail``.
"""

from __future__ import annotations

from pathlib import Path

from privacy_profile.errors import PolicyError

__all__ = ["DEFAULT_EXAMPLE", "example_names", "example_policy_path", "example_policy_text"]

DEFAULT_EXAMPLE = "wechat_shop"
"""The example the demo runs with."""

_HERE = Path(__file__).resolve().parent


def example_names() -> list[str]:
    """The names of the shipped example policies, sorted."""
    return sorted(p.stem for p in _HERE.glob("*.yaml"))


def example_policy_path(name: str = DEFAULT_EXAMPLE) -> Path:
    """The file of the shipped example policy ``name``; PolicyError for an unknown name."""
    path = _HERE / f"{name}.yaml"
    if name not in example_names():
        raise PolicyError(
            f"no example policy named {name!r}",
            hint=f"use one of {', '.join(example_names())}",
        )
    return path


def example_policy_text(name: str = DEFAULT_EXAMPLE) -> str:
    """The YAML text of the shipped example policy ``name``."""
    return example_policy_path(name).read_text(encoding="utf-8")
