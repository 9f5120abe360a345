"""The one place the policy's role mapping becomes the segment layer's feature columns, and
each table's subject column becomes the run's unit column."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from privacy_profile.policy.model import Drop, Policy
from privacy_profile.segments.features import EventColumns, FeatureColumns, OrderColumns

__all__ = ["feature_columns", "location_column", "unit_column", "with_unit_column"]


def unit_column(policy: Policy) -> str:
    """The privacy unit's column name (``privacy.privacy_unit_column``'s column part)."""
    return policy.privacy.privacy_unit_column.partition(".")[2]


def location_column(policy: Policy) -> str | None:
    """The location dimension (``province`` in segment terms): ``mapping.subjects.location``,
    else the subjects column generalized ``city_to_province``, else the first kept
    ``user.location...`` column of the subjects table (e.g. a ``Country`` column), else None."""
    roles = policy.roles()
    if roles.subjects.location is not None:
        return roles.subjects.location
    users = policy.tables[policy.subjects.table].columns
    return next(
        (
            c
            for c, col in users.items()
            if getattr(col.treatment, "method", "") == "city_to_province"
        ),
        None,
    ) or next(
        (
            c
            for c, col in users.items()
            if col.category.startswith("user.location") and not isinstance(col.treatment, Drop)
        ),
        None,
    )


def feature_columns(policy: Policy) -> FeatureColumns:
    """The feature columns of ``policy``'s role mapping (:meth:`Policy.roles`).

    ``age_band`` is the subjects' birthdate or age column (generalized to bands by
    ingestion); ``province`` is :func:`location_column`; custom tags come from
    ``segmentation.tags``.
    """
    roles = policy.roles()
    o, e, s = roles.orders, roles.events, roles.subjects
    orders = (
        None
        if o is None
        else OrderColumns(
            table=o.table,
            order_id=o.order_id,
            amount=o.amount,
            status=o.status,
            ordered_at=o.time,
            category=o.category,
            coupon_used=o.coupon,
            paid_statuses=tuple(o.paid_values),
            refund_statuses=tuple(o.refund_values),
        )
    )
    events = (
        None
        if e is None
        else EventColumns(
            table=e.table,
            event_type=e.event_type,
            ts=e.time,
            category=e.category,
            purchase=tuple(e.purchase_values),
            view=tuple(e.view_values),
            cart=tuple(e.cart_values),
            fav=tuple(e.favourite_values),
        )
    )
    tags = () if policy.segmentation is None else tuple(policy.segmentation.tags.items())
    return FeatureColumns(
        users=policy.subjects.table,
        orders=orders,
        events=events,
        age_band=policy.subjects.birthdate_column or policy.subjects.age_column,
        gender=s.gender,
        province=location_column(policy),
        registered_at=s.registered_at,
        channel=s.channel,
        tags=tuple((col, tag) for tag, col in tags),
    )


def with_unit_column(policy: Policy, tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each table with its ``subject_column`` renamed to the unit column (id column names may
    differ per table; after pseudonymization in one domain the values agree)."""
    unit = unit_column(policy)
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        spec = policy.tables.get(name)
        subject = spec.subject_column if spec is not None else unit
        if subject != unit and subject in frame.columns:
            if unit in frame.columns:
                frame = frame.drop(columns=[unit])
            frame = frame.rename(columns={subject: unit})
        out[name] = frame
    return out
