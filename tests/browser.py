"""A page rendered by a real browser (headless Chromium), as a person would see it: what the
page's own script reports once drawn, and a screenshot. ``render`` returns None where no
Chromium is installed (Debian: apt-get install chromium)."""

import re
import shutil
import subprocess
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", "--virtual-time-budget=15000"]


def chromium() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


def render(page: Path, screenshot: Path | None = None, size=(1400, 2400),
           timeout: int = 120) -> dict | None:
    """The ``data-*`` attributes the page's script put on ``<body>`` after loading, rendered
    in headless Chromium, and the screenshot when asked; None without Chromium."""
    browser = chromium()
    if browser is None:
        return None
    url = Path(page).resolve().as_uri()
    dom = subprocess.run([browser, *FLAGS, "--dump-dom", url], capture_output=True,
                         text=True, timeout=timeout, check=True).stdout
    body = re.search(r"<body([^>]*)>", dom)
    attributes = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1))) if body else {}
    if screenshot is not None:
        subprocess.run([browser, *FLAGS, f"--window-size={size[0]},{size[1]}",
                        f"--screenshot={Path(screenshot).resolve()}", url],
                       capture_output=True, timeout=timeout, check=True)
    return attributes
