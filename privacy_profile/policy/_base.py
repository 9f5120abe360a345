"""The frozen pydantic base of every policy model (``extra="forbid"``: a misspelt field is an
error, never silently ignored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["FrozenModel"]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)
