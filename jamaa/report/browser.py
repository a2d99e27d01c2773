"""Open the report in Debian's headless Chromium: the DOM as the browser built it, and a screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from jamaa.errors import JamaaError

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


class BrowserError(JamaaError):
    exit_code = 1


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium() -> str:
    found = chromium_path()
    if found:
        return found
    raise BrowserError("chromium: not installed (Debian package `chromium`, in the Makefile's APT_PACKAGES)")


def _run(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="jamaa-chromium-") as profile:
        proc = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if proc.returncode != 0:
        raise BrowserError(f"chromium exited {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc


def dump_dom(html: Path) -> str:
    """The page's DOM after Chromium parsed and laid it out (`--dump-dom`)."""
    return _run(["--dump-dom", html.resolve().as_uri()]).stdout


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 2400) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    _run([f"--screenshot={png.resolve()}", f"--window-size={width},{height}", html.resolve().as_uri()])
    if not png.exists() or png.stat().st_size == 0:
        raise BrowserError(f"{png}: chromium wrote no screenshot")
    return png
