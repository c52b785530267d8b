"""Take the README's screenshot of the interactive page (docs/app.png) in headless Chromium.

    python docs/make_app_screenshot.py [--steps N] [--ketamine UM] [--out PATH]

Serves ``app.py`` with ``solara run``, sets the ketamine control, presses
Reset and then Step N times (N x 100 ms of biological time), and saves a
screenshot. Needs the app and test extras (``pip install -e ".[test]"``) and
Debian's chromium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from served_app import apply_controls, launch_chromium, serve_app  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="Step presses after Reset (default: 60 = 6 s)")
    parser.add_argument("--ketamine", default="10", help="ketamine control (µM, default: 10)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "app.png", help="PNG file to write")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with serve_app() as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1500, "height": 1900})
        page.goto(url)
        page.get_by_role("button", name="Step").wait_for(timeout=60_000)
        apply_controls(page, {"Ketamine (µM)": args.ketamine}, f"Bath: ketamine {float(args.ketamine):g} µM")
        for step in range(1, args.steps + 1):
            page.get_by_role("button", name="Step").click()
            page.get_by_text(f"Biological time {step / 10:.1f} s").wait_for()
        page.wait_for_timeout(1000)  # the last images arrive
        page.screenshot(path=str(args.out))
        browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
