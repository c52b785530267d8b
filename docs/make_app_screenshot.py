"""Take the README's screenshots of the interactive page in headless Chromium.

    python docs/make_app_screenshot.py [--steps N] [--ketamine UM] [--neurons N] [--warm-start] [--out PATH]

Serves ``app.py`` with ``solara run``, sets the ketamine and network-size
controls (and "start after warm-up" with ``--warm-start``), presses Reset and
then Step N times (N x 100 ms of biological time), and saves a screenshot.
The README's two:

    python docs/make_app_screenshot.py                                   # docs/app.png
    python docs/make_app_screenshot.py --warm-start --steps 50 --neurons 1000 --out docs/app_ketamine.png

Needs the app and test extras (``pip install -e ".[test]"``) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from served_app import apply_controls, launch_chromium, serve_app  # noqa: E402

WARM_LABEL = "Start after warm-up (drug-free, cached)"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="Step presses after Reset (default: 60 = 6 s)")
    parser.add_argument("--ketamine", default="10", help="ketamine control (µM, default: 10)")
    parser.add_argument("--neurons", default="400", help="network size control (neurons, default: 400)")
    parser.add_argument("--warm-start", action="store_true", help="start after the drug-free warm-up")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app.png", help="PNG file to write")
    return parser.parse_args(argv)


def biological_time_s(page) -> float:
    """The biological time (s) the page's status shows."""
    text = page.get_by_text(re.compile(r"^Biological time [0-9.]+ s")).inner_text()
    return float(re.match(r"Biological time ([0-9.]+) s", text).group(1))


def take(page, args: argparse.Namespace) -> None:
    """Set the controls, press Reset, Step ``args.steps`` times and save the screenshot to ``args.out``."""
    controls = {"Ketamine (µM)": args.ketamine, "Network size (neurons)": args.neurons, WARM_LABEL: args.warm_start}
    apply_controls(page, controls, f"Bath: ketamine {float(args.ketamine):g} µM", timeout_ms=180_000)
    start_s = biological_time_s(page)
    for step in range(1, args.steps + 1):
        page.get_by_role("button", name="Step").click()
        page.get_by_text(f"Biological time {start_s + step / 10:.1f} s").wait_for()
    page.wait_for_timeout(1500)  # the last images arrive
    page.screenshot(path=str(args.out))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    with serve_app() as served, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1500, "height": 1900})
        page.goto(served.url)
        page.get_by_role("button", name="Step").wait_for(timeout=60_000)
        take(page, args)
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
