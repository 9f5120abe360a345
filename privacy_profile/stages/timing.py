"""Timing the stages of a run and telling a progress callback when each starts and ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ProgressCallback", "StageTimer"]

ProgressCallback = Callable[[str, str], None]
"""Called as ``progress(stage, "start" | "done")``."""


class StageTimer:
    """``with timer("sanitize"): ...`` records the stage's wall-clock seconds (a stage that
    raises records nothing) and reports its start and end to the progress callback."""

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self._progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self._progress is not None:
            self._progress(name, "start")
        t0 = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - t0
        if self._progress is not None:
            self._progress(name, "done")
