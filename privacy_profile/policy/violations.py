"""The shape of a policy rule violation: the YAML path it concerns, a message and a hint."""

from __future__ import annotations

__all__ = ["Path", "RuleViolation"]

Path = tuple[str | int, ...]
RuleViolation = tuple[Path, str, str]
