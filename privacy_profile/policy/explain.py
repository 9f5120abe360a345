"""A plain-language summary of a policy that a compliance officer can read and sign."""

from __future__ import annotations

from privacy_profile.policy.model import (
    AgeBand,
    CityToProvince,
    ColumnRole,
    DateTruncate,
    Drop,
    Keep,
    NumericRound,
    Policy,
    Pseudonymize,
    Scan,
    Tokenize,
    TopBottomCode,
    Treatment,
)
from privacy_profile.policy.rules import sensitive_columns

__all__ = ["describe_treatment", "explain_policy"]


def describe_treatment(t: Treatment) -> str:
    """One phrase saying what happens to a column."""
    if isinstance(t, Keep):
        return "kept as is"
    if isinstance(t, Drop):
        return "dropped at ingestion (never stored or released)"
    if isinstance(t, Pseudonymize):
        return "replaced by a keyed pseudonym (HMAC-SHA256, in the purpose's domain)"
    if isinstance(t, Tokenize):
        return "replaced by a reversible token (AES-SIV; only the custodian key reverses it)"
    if isinstance(t, Scan):
        return "scanned for personal data; findings are replaced before use"
    if isinstance(t, AgeBand):
        return "generalized to age bands " + ", ".join(_bands(t.bands))
    if isinstance(t, DateTruncate):
        return f"truncated to the {t.unit.value}"
    if isinstance(t, CityToProvince):
        return "generalized from city to province"
    if isinstance(t, NumericRound):
        return f"rounded to multiples of {t.step:g}"
    if isinstance(t, TopBottomCode):
        parts = []
        if t.lower is not None:
            parts.append(f"bottom-coded at {t.lower:g}")
        if t.upper is not None:
            parts.append(f"top-coded at {t.upper:g}")
        return " and ".join(parts)
    raise AssertionError(f"unhandled treatment {t!r}")  # pragma: no cover


def _bands(bands: list[int]) -> list[str]:
    out = []
    for i, lo in enumerate(bands):
        hi = bands[i + 1] - 1 if i + 1 < len(bands) else None
        out.append(f"{lo}-{hi}" if hi is not None else f"{lo}+")
    return out


def explain_policy(policy: Policy, *, digest: str | None = None) -> str:
    """Return a Markdown summary: what is collected, for which purpose, what leaves."""
    pv = policy.privacy
    lines: list[str] = []
    add = lines.append
    add(f"# Policy `{policy.name}`")
    if digest:
        add(f"Digest: `{digest}`")
    add("")
    add(f"Controller (personal-information handler): {policy.controller.rstrip('.')}.")
    if policy.description.strip():
        add("")
        add(policy.description.strip())
    add("")
    if policy.assessment is not None:
        a = policy.assessment
        add(f"Impact assessment: {a.id}, completed {a.completed_on.isoformat()}.")
    else:
        add("Impact assessment: none referenced (no sensitive data or profiling in scope).")
    add("")
    add("## Purposes")
    for p in policy.purposes:
        c = p.consent
        add(f"- **{p.name}** (`{p.data_use}`), legal basis: {p.legal_basis.value}.")
        add(f"  Recipients: {'; '.join(p.recipients)}.")
        add(
            f"  Requires consent under notice version(s) {', '.join(c.accepted_notice_versions)};"
            " the latest consent record per user and purpose decides; a withdrawal excludes."
        )
        unknown = "excluded" if c.minors.unknown_age.value == "exclude" else "included"
        guardian = (
            "unless a guardian's consent is recorded"
            if c.minors.guardian_consent_admits
            else "even with a guardian's consent"
        )
        add(
            f"  Users under {c.minors.minimum_age} are excluded {guardian}; users of unknown "
            f"age are {unknown}."
        )
        if c.separate_consent_for_sensitive:
            add("  Sensitive columns are used only for users who gave separate consent.")
        opt = (
            "excluded from profiling altogether"
            if c.opt_out.value == "exclude_from_profiling"
            else "kept in aggregate statistics but never targeted"
        )
        add(f"  Users who opted out of personalised marketing are {opt}.")
        if p.activation.allowed:
            add(
                f"  Activation: segment audiences keyed by reversible tokens may go to "
                f"{p.activation.recipient or 'the operator backend'}; opted-out users are removed."
            )
        else:
            add("  Activation: not allowed; only aggregate outputs leave.")
        add(f"  Pseudonyms are computed in domain '{p.pseudonymization_domain}'.")
    add("")
    add("## What is collected and what happens to it")
    sensitive = set(sensitive_columns(policy))
    for tname, table in policy.tables.items():
        add(f"### Table `{tname}` (kept {table.retention_days} days)")
        undeclared = (
            "dropped and reported" if table.undeclared_columns.value == "drop" else "refused"
        )
        add(f"Columns not declared here are {undeclared}.")
        add("")
        add("| column | data category | role | treatment |")
        add("|---|---|---|---|")
        for cname, col in table.columns.items():
            flag = " (sensitive)" if (tname, cname) in sensitive else ""
            add(
                f"| {cname} | `{col.category}`{flag} | {col.role.value} | "
                f"{describe_treatment(col.treatment)} |"
            )
        add("")
    ids = [
        f"{t}.{c}"
        for t, tb in policy.tables.items()
        for c, col in tb.columns.items()
        if col.role is ColumnRole.DIRECT_IDENTIFIER
    ]
    add(f"Direct identifiers ({len(ids)}): {', '.join(ids)}. None of them is ever released.")
    add("")
    add("## Keys")
    for d in policy.pseudonymization_domains:
        add(f"- Domain '{d.name}': key id `{d.key_id}`, read from {d.key.describe()}.")
    if policy.tokenization is not None:
        tk = policy.tokenization
        add(f"- Tokens: custodian key id `{tk.key_id}`, read from {tk.custodian_key.describe()}.")
    add("Keys are never printed, logged or written; lineage records key ids and fingerprints.")
    add("")
    add("## What leaves, and with what protection")
    add(
        f"Only group-level statistics leave, with differential privacy. The protected unit is one "
        f"person (`{pv.privacy_unit_column}`), who may contribute to at most "
        f"{pv.max_groups_contributed} groups and {pv.max_rows_per_group} rows per group."
    )
    add(
        f"Each release spends at most epsilon = {pv.max_epsilon_per_query:g} "
        f"(delta = {pv.delta_per_query:g}); the total budget for dataset "
        f"'{pv.budget_dataset}' is epsilon = {pv.epsilon_budget:g}, delta = {pv.delta_budget:g} "
        f"per {_window(policy)}. When it is spent, releases are refused."
    )
    zcdp = sorted(pv.zcdp_families())
    if zcdp:
        add(
            f"Accounting: {', '.join(zcdp)} use zero-concentrated DP (zCDP): discrete Gaussian "
            "noise, each release charged rho = epsilon^2 / 2 of its epsilon; the window's rho "
            "is converted to (epsilon, delta) with the delta budget at every budget check, so "
            "frequent refreshes cost about the square root of their number. The other "
            "families use pure epsilon (discrete Laplace), epsilons adding up."
        )
    else:
        add("Accounting: every release uses pure epsilon (discrete Laplace), epsilons adding up.")
    add(
        f"No group with fewer than {pv.aggregation_threshold.threshold} people (noisy count) is "
        f"released. Any row-level output must be {pv.k_anonymity.k}-anonymous."
    )
    if pv.metric_bounds:
        bounds = ", ".join(
            f"{b.table}.{b.column} in [{b.lower:g}, {b.upper:g}]" for b in pv.metric_bounds
        )
        add(f"Metric values are clamped to public bounds: {bounds}.")
    add("")
    add("## Free text")
    ps = policy.pii_scan
    how = (
        "an entity tag such as <CN_MOBILE>"
        if ps.replacement.value == "entity_tag"
        else (f"a pseudonym in domain '{ps.pseudonym_domain}'")
    )
    add(f"Personal data found in free text is replaced by {how}.")
    if ps.column_scan:
        act = (
            "the run is refused"
            if ps.undeclared_identifier_columns.value == "refuse"
            else ("the column is dropped")
        )
        add(
            f"Columns not declared as identifiers are scanned too; if more than "
            f"{ps.column_flag_share:.0%} of a column's cells hold identifiers, {act}."
        )
    return "\n".join(lines) + "\n"


def _window(policy: Policy) -> str:
    w = policy.privacy.budget_window
    if w.kind.value == "rolling_days":
        return f"rolling {w.days} days"
    return "calendar month"
