"""The policy's ``mapping:`` section: which declared table and column plays each role the
profile needs (orders, events, subject attributes), and which values mean paid, refunded,
purchase, view, cart and favourite.

Nothing below the policy assumes a table or column name: the segment layer's feature columns
are built from this section in one place (``privacy_profile.segments.columns``). A policy
without a ``mapping`` section gets :data:`LEGACY_MAPPING` (the names the demo data used before
the section existed: tables ``orders`` and ``events``, columns ``order_id``, ``amount``,
``status``, ``ordered_at``, ``category``, ``coupon_used``, ``event_type``, ``ts``, status
``paid``, event ``buy``); a role whose legacy table is not declared is simply inactive.
Shipped policies declare the mapping explicitly. Every name is checked against the declared
tables by :mod:`privacy_profile.policy.rules`.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from privacy_profile.policy._base import FrozenModel

__all__ = ["LEGACY_MAPPING", "EventRoles", "OrderRoles", "RoleMapping", "SubjectRoles"]


class OrderRoles(FrozenModel):
    """The orders table: one row per order (or order line), keyed by the table's
    ``subject_column``."""

    table: str = Field(description="The declared table holding orders.")
    order_id: str = Field(description="Column: the order id (distinct orders = frequency).")
    amount: str = Field(description="Column: the order amount (monetary; a metric).")
    time: str = Field(description="Column: when the order was placed (recency).")
    status: str = Field(description="Column: the order status.")
    category: str | None = Field(default=None, description="Column: the product category.")
    coupon: str | None = Field(
        default=None, description="Column: whether a coupon was used (a boolean column)."
    )
    paid_values: list[str] = Field(
        min_length=1, description="Status values (after the column's value map) meaning paid."
    )
    refund_values: list[str] = Field(
        default_factory=list,
        description="Status values meaning cancelled or refunded (a negative amount on such a "
        "row is subtracted from monetary).",
    )

    @model_validator(mode="after")
    def _disjoint(self) -> OrderRoles:
        both = set(self.paid_values) & set(self.refund_values)
        if both:
            raise ValueError(f"status values {sorted(both)} are both paid and refunded")
        return self


class EventRoles(FrozenModel):
    """The behaviour-events table: one row per event, keyed by the table's
    ``subject_column``."""

    table: str = Field(description="The declared table holding behaviour events.")
    event_type: str = Field(description="Column: the event kind.")
    time: str = Field(description="Column: when the event happened.")
    category: str | None = Field(default=None, description="Column: the product category.")
    purchase_values: list[str] = Field(
        default_factory=list, description="Event kinds meaning a purchase."
    )
    view_values: list[str] = Field(default_factory=list, description="Event kinds: a view.")
    cart_values: list[str] = Field(default_factory=list, description="Event kinds: add to cart.")
    favourite_values: list[str] = Field(
        default_factory=list, description="Event kinds: add to favourites."
    )

    @model_validator(mode="after")
    def _disjoint(self) -> EventRoles:
        seen: dict[str, str] = {}
        for kind in ("purchase_values", "view_values", "cart_values", "favourite_values"):
            for v in getattr(self, kind):
                if v in seen:
                    raise ValueError(f"event value {v!r} is in both {seen[v]} and {kind}")
                seen[v] = kind
        return self


class SubjectRoles(FrozenModel):
    """Columns of the subjects table (``subjects.table``) used as persona / rule / tree tags.

    Age comes from ``subjects.birthdate_column`` or ``age_column``. ``location`` defaults to
    the column generalized ``city_to_province``, else the first kept ``user.location...``
    column; the other roles are inactive when not given (the persona dimension is then all
    unknown, which pre-flight refuses).
    """

    gender: str | None = Field(default=None, description="Column: gender.")
    channel: str | None = Field(default=None, description="Column: acquisition channel.")
    registered_at: str | None = Field(
        default=None, description="Column: registration time (first seen no later than it)."
    )
    location: str | None = Field(
        default=None, description="Column: the location dimension (`province` in rules)."
    )


class RoleMapping(FrozenModel):
    """Which declared table and column plays each role (see docs/mapping.md)."""

    orders: OrderRoles | None = Field(default=None, description="The orders role (RFM needs it).")
    events: EventRoles | None = Field(default=None, description="The behaviour-events role.")
    subjects: SubjectRoles = Field(
        default_factory=SubjectRoles, description="Subject attributes used as tags."
    )


LEGACY_MAPPING = RoleMapping(
    orders=OrderRoles(
        table="orders",
        order_id="order_id",
        amount="amount",
        time="ordered_at",
        status="status",
        category="category",
        coupon="coupon_used",
        paid_values=["paid"],
        refund_values=["cancelled", "returned"],
    ),
    events=EventRoles(
        table="events",
        event_type="event_type",
        time="ts",
        category="category",
        purchase_values=["buy"],
        view_values=["view"],
        cart_values=["cart"],
        favourite_values=["fav"],
    ),
    subjects=SubjectRoles(gender="gender", channel="channel", registered_at="registered_at"),
)
"""The mapping of a policy without a ``mapping`` section (documented backward-compatible
default): a role whose table or column is not declared is inactive."""
