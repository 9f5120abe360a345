"""Render a lineage HTML document to a PNG with headless Chromium (for a human to look at).

    python scripts/screenshot_lineage.py [HTML] [PNG]

Defaults: docs/examples/lineage/lineage.html -> /tmp/lineage_screenshot.png. Needs a
`chromium` (or `chromium-browser` / `google-chrome`) binary; a fresh profile is used and
removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, *, width: int = 1100, height: int = 4200) -> Path:
    browser = find_browser()
    if browser is None:
        raise SystemExit("no chromium found (apt-get install -y chromium)")
    profile = Path(tempfile.mkdtemp(prefix="pp-chromium-"))
    try:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png.resolve()}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return png


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/examples/lineage/lineage.html")
    dst = Path(sys.argv[2] if len(sys.argv) > 2 else "/tmp/lineage_screenshot.png")
    print(screenshot(src, dst))
