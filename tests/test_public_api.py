"""The public API is small and curated: what the docs promise is what is exported."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import privacy_profile
from privacy_profile import errors

DOCS_INDEX = Path(__file__).resolve().parents[1] / "docs" / "index.md"


def _documented_api() -> list[str]:
    """The names listed in the "Public API" section of docs/index.md (``- `name`: ...``)."""
    text = DOCS_INDEX.read_text(encoding="utf-8")
    section = text.split("\n## Public API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([A-Za-z_][A-Za-z0-9_]*)`", section, flags=re.M)


def test_all_is_the_documented_api() -> None:
    documented = _documented_api()
    assert len(documented) == len(set(documented)), "a name is listed twice in docs/index.md"
    assert set(privacy_profile.__all__) == set(documented), (
        "privacy_profile.__all__ and the Public API list of docs/index.md differ: "
        f"undocumented {sorted(set(privacy_profile.__all__) - set(documented))}, "
        f"not exported {sorted(set(documented) - set(privacy_profile.__all__))}"
    )
    for name in privacy_profile.__all__:
        assert hasattr(privacy_profile, name), name


def test_the_documented_list_is_read() -> None:
    documented = _documented_api()
    assert "sanitize_then_segment" in documented and "PrivacyProfileError" in documented


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
