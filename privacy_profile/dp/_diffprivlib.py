"""The only door to diffprivlib: its data-derived-bounds warning becomes an error.

diffprivlib computes bounds from the data when none are given and only emits a
``PrivacyLeakWarning``. :func:`strict_diffprivlib` turns that warning into
:class:`~privacy_profile.errors.PrivacyParameterError`; every diffprivlib call in the project
goes through it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from diffprivlib.utils import PrivacyLeakWarning

from privacy_profile.errors import PrivacyParameterError

__all__ = ["strict_diffprivlib"]


@contextmanager
def strict_diffprivlib() -> Iterator[None]:
    """Run diffprivlib code; a PrivacyLeakWarning (e.g. bounds from data) raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        try:
            yield
        except PrivacyLeakWarning as exc:
            raise PrivacyParameterError(
                f"diffprivlib would leak privacy: {exc}",
                hint="pass bounds (and classes) from the policy; never derive them from data",
            ) from exc
