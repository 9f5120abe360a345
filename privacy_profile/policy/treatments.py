"""Column treatments (keep, drop, pseudonymize, tokenize, scan, generalize) and the key
references pseudonymization and tokenization use."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from privacy_profile.policy._base import FrozenModel as _Frozen
from privacy_profile.policy.enums import DateUnit

__all__ = [
    "AgeBand",
    "CityToProvince",
    "DateTruncate",
    "Drop",
    "Keep",
    "KeyRef",
    "NumericRound",
    "PseudonymizationDomain",
    "Pseudonymize",
    "Scan",
    "Tokenization",
    "Tokenize",
    "TopBottomCode",
    "Treatment",
]


class KeyRef(_Frozen):
    """A reference to key material: an environment variable or a file, never the key itself."""

    env: str | None = Field(default=None, description="Environment variable holding the key.")
    file: str | None = Field(
        default=None,
        description="Path to a file holding the key (relative to the policy file); "
        "it must not be readable by group or others.",
    )

    @model_validator(mode="before")
    @classmethod
    def _refuse_inline(cls, data: Any) -> Any:
        if isinstance(data, str | bytes | int):
            raise ValueError(
                "an inline secret is refused: write {env: VARIABLE_NAME} or {file: path/to/key}"
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> KeyRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env` or `file`")
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env is not None else f"file:{self.file}"


class PseudonymizationDomain(_Frozen):
    """A pseudonymisation domain: pseudonyms of two domains cannot be joined."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    key: KeyRef
    key_id: str = Field(
        min_length=1, description="Recorded in lineage; identifies the key version."
    )
    description: str = ""


class Tokenization(_Frozen):
    """Reversible tokens (deterministic AES-SIV) under a custodian key kept apart."""

    custodian_key: KeyRef
    key_id: str = Field(min_length=1)


# --------------------------------------------------------------------------- treatments


class Keep(_Frozen):
    action: Literal["keep"] = "keep"


class Drop(_Frozen):
    action: Literal["drop"] = "drop"


class Pseudonymize(_Frozen):
    """Keyed HMAC-SHA256 pseudonym (after normalizing the value).

    The pseudonymisation domain is the run purpose's (``purposes[].pseudonymization_domain``):
    the same value gets unrelated pseudonyms under two purposes, so their outputs cannot be
    joined.
    """

    action: Literal["pseudonymize"] = "pseudonymize"


class Tokenize(_Frozen):
    """Deterministic AES-SIV token, reversible only with the custodian key."""

    action: Literal["tokenize"] = "tokenize"


class Scan(_Frozen):
    """Find PII in free text and replace each finding (see ``pii_scan``)."""

    action: Literal["scan"] = "scan"
    operator: Literal["entity_tag", "mask", "hash", "encrypt"] | None = Field(
        default=None,
        description="What replaces a finding in this column: entity_tag (<CN_MOBILE>), mask "
        "(138****5678), hash (HMAC-SHA256 under pii_scan.pseudonym_domain's key: "
        "<CN_MOBILE:3f2a...>), encrypt (AES under the custodian key, reversible by its "
        "holder). Unset: pii_scan.replacement decides.",
    )


class AgeBand(_Frozen):
    """Birthdate or age to an age band; ``bands`` are the lower edges, ascending."""

    action: Literal["generalize"] = "generalize"
    method: Literal["age_band"] = "age_band"
    bands: list[int] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if any(b < 0 for b in v) or any(b2 <= b1 for b1, b2 in pairwise(v)):
            raise ValueError("bands must be non-negative and strictly ascending, e.g. [0, 14, 18]")
        return v


class DateTruncate(_Frozen):
    """Dates or timestamps truncated to a year, month, day or hour."""

    action: Literal["generalize"] = "generalize"
    method: Literal["date_truncate"] = "date_truncate"
    unit: DateUnit


class CityToProvince(_Frozen):
    """A city or district (name or division code) to its province."""

    action: Literal["generalize"] = "generalize"
    method: Literal["city_to_province"] = "city_to_province"


class NumericRound(_Frozen):
    """Round to a multiple of ``step``."""

    action: Literal["generalize"] = "generalize"
    method: Literal["round"] = "round"
    step: float = Field(gt=0)


class TopBottomCode(_Frozen):
    """Values below ``lower`` become ``lower``; above ``upper`` become ``upper``."""

    action: Literal["generalize"] = "generalize"
    method: Literal["top_bottom_code"] = "top_bottom_code"
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> TopBottomCode:
        if self.lower is None and self.upper is None:
            raise ValueError("give `lower`, `upper` or both")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise ValueError("`lower` must be below `upper`")
        return self


_SHORTHAND = {
    "keep": Keep,
    "drop": Drop,
    "pseudonymize": Pseudonymize,
    "tokenize": Tokenize,
    "scan": Scan,
}


def _treatment_tag(v: Any) -> str | None:
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        action = v.get("action")
        if action == "generalize":
            return f"generalize:{v.get('method')}"
        return action if isinstance(action, str) else None
    action = getattr(v, "action", None)
    if action == "generalize":
        return f"generalize:{getattr(v, 'method', None)}"
    return action if isinstance(action, str) else None


def _coerce_shorthand(v: Any) -> Any:
    if isinstance(v, str) and v in _SHORTHAND:
        return {"action": v}
    return v


Treatment = Annotated[
    Annotated[Keep, Tag("keep")]
    | Annotated[Drop, Tag("drop")]
    | Annotated[Pseudonymize, Tag("pseudonymize")]
    | Annotated[Tokenize, Tag("tokenize")]
    | Annotated[Scan, Tag("scan")]
    | Annotated[AgeBand, Tag("generalize:age_band")]
    | Annotated[DateTruncate, Tag("generalize:date_truncate")]
    | Annotated[CityToProvince, Tag("generalize:city_to_province")]
    | Annotated[NumericRound, Tag("generalize:round")]
    | Annotated[TopBottomCode, Tag("generalize:top_bottom_code")],
    Discriminator(
        _treatment_tag,
        custom_error_type="invalid_treatment",
        custom_error_message=(
            "unknown treatment: use keep, drop, pseudonymize, tokenize, scan"
            " or {action: generalize, method: age_band|date_truncate|city_to_province|round|"
            "top_bottom_code, ...}"
        ),
    ),
]
