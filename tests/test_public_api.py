"""The public API is small and curated: what the docs promise is what is exported."""

from __future__ import annotations

import inspect

import privacy_profile
from privacy_profile import errors

PROMISED = {
    "load_policy",
    "Policy",
    "LoadedPolicy",
    "PrivacyProfileError",
    "PolicyError",
    "InputError",
    "ConsentError",
    "KeyMaterialError",
    "BudgetExceededError",
    "LeakDetectedError",
    "PrivacyParameterError",
    "ScanError",
    "AuditError",
    "__version__",
    "sanitize_then_segment",
    "sanitize",
    "write_sanitized",
    "KeyRing",
    "BudgetLedger",
    "open_ledger",
    "PiiScanner",
    "Release",
    "verify_run",
}


def test_all_is_the_promised_api() -> None:
    assert set(privacy_profile.__all__) >= PROMISED
    for name in privacy_profile.__all__:
        assert hasattr(privacy_profile, name), name


def test_all_is_unique() -> None:
    names = list(privacy_profile.__all__)
    assert len(names) == len(set(names))


def test_importing_the_package_stays_light() -> None:
    """`import privacy_profile` (and so `privacy-profile policy ...`) must not pull in the
    DP, PII and plotting stacks; they load on first use of a pipeline name."""
    import subprocess
    import sys

    code = (
        "import sys, privacy_profile; "
        "heavy = [m for m in ('sklearn', 'diffprivlib', 'presidio_analyzer', 'matplotlib') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        privacy_profile.no_such_name  # noqa: B018
    except AttributeError as e:
        assert "no_such_name" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_every_error_derives_from_the_base() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert issubclass(cls, privacy_profile.PrivacyProfileError)
        assert cls.__doc__, f"{cls.__name__} is undocumented"
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} missing from the tree"


def test_error_hint_is_shown() -> None:
    e = privacy_profile.InputError("column 'amount' is missing in orders.csv", hint="add it")
    assert str(e) == "column 'amount' is missing in orders.csv\n  fix: add it"
