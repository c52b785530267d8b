"""Serving ``app.py`` on localhost and opening it in headless Chromium (Debian's package, driven by Playwright).

Used by ``tests/cli/test_app.py`` and ``docs/make_app_screenshot.py``. Playwright
is pointed at the system Chromium; it downloads no browser of its own. The
server's output goes to a log file that ``ServedApp.log()`` reads; it keeps its
warm-up cache in a directory of its own (``sim.model.interactive.CACHE_ENV``).
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
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from sim.model.interactive import CACHE_ENV

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


@dataclass(frozen=True)
class ServedApp:
    """A running ``solara run app.py``: its URL, its log file and its warm-up cache directory."""

    url: str
    log_path: Path
    cache_dir: Path

    def log(self) -> str:
        """Everything the server has printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def serve_app(timeout_s: float = 120.0, cache_dir: Path | None = None) -> Iterator[ServedApp]:
    """Run ``solara run app.py`` on a free localhost port and stop it afterwards.

    The server checks for no new solara version (no network), sends no
    telemetry, and keeps warmed-up states in ``cache_dir`` (default: a
    temporary directory, removed afterwards).
    """
    port = free_port()
    url = f"http://localhost:{port}/"  # solara warns about its session cookie on any other host name
    with tempfile.TemporaryDirectory() as tmp:
        served = ServedApp(url, Path(tmp) / "server.log", cache_dir or Path(tmp) / "cache")
        env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", CACHE_ENV: str(served.cache_dir)}
        with served.log_path.open("a", encoding="utf-8") as log:
            proc = subprocess.Popen([sys.executable, "-m", "solara", "run", "app.py", "--port", str(port),
                                     "--host", "127.0.0.1", "--no-open", "--production", "--no-check-version"],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_served(served, proc, timeout_s)
            yield served
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_until_served(served: ServedApp, proc: subprocess.Popen, timeout_s: float) -> None:
    url = served.url
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
    raise RuntimeError(f"solara did not serve {url} (exit code {proc.poll()}):\n{served.log()[-3000:]}")


def launch_chromium(playwright):
    """Headless Chromium from the system package, as a Playwright browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def apply_controls(page, controls: dict[str, str | bool], expected: str, attempts: int = 3,
                   timeout_ms: float = 15_000) -> None:
    """Set ``controls`` (label -> text, each confirmed with Enter; or a checkbox's state), press Reset and wait
    ``timeout_ms`` for ``expected``.

    Retried: a freshly opened page sets its controls' initial state just after
    it appears (Mesa's ModelCreator), which can overwrite text typed at once.
    """
    for attempt in range(attempts):
        for label, value in controls.items():
            if isinstance(value, bool):
                if page.get_by_label(label).is_checked() != value:
                    page.locator("label", has_text=label).click()  # Vuetify's ripple covers the input itself
            else:
                page.get_by_label(label).fill(value)
                page.get_by_label(label).press("Enter")
        page.get_by_role("button", name="Reset").click()
        try:
            page.get_by_text(expected).wait_for(timeout=timeout_ms)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
