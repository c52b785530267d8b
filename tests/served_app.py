"""Serving ``app.py`` on localhost and opening it in headless Chromium (Debian's package, driven by Playwright).

Used by ``tests/cli/test_app.py`` and ``docs/make_app_screenshot.py``. Playwright
is pointed at the system Chromium; it downloads no browser of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: flags that let Chromium run as root in a sandboxed machine without reaching out to the network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(timeout_s: float = 120.0) -> Iterator[str]:
    """Run ``solara run app.py`` on a free localhost port; yields its URL and stops the server afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "solara", "run", "app.py", "--port", str(port),
                                 "--host", "127.0.0.1", "--no-open", "--production"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_served(url, proc, timeout_s, log)
            yield url
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_until_served(url: str, proc: subprocess.Popen, timeout_s: float, log) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    log.seek(0)
    raise RuntimeError(f"solara did not serve {url} (exit code {proc.poll()}):\n{log.read()[-3000:]}")


def launch_chromium(playwright):
    """Headless Chromium from the system package, as a Playwright browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def apply_controls(page, controls: dict[str, str], expected: str, attempts: int = 3) -> None:
    """Type ``controls`` (label -> text, each confirmed with Enter), press Reset and wait for ``expected``.

    Retried: a freshly opened page sets its controls' initial state just after
    it appears (Mesa's SolaraViz), which can overwrite text typed at once.
    """
    for attempt in range(attempts):
        for label, text in controls.items():
            page.get_by_label(label).fill(text)
            page.get_by_label(label).press("Enter")
        page.get_by_role("button", name="Reset").click()
        try:
            page.get_by_text(expected).wait_for(timeout=15_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
