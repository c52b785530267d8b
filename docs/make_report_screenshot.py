"""Take the README's screenshot of a batch report's first page (its one-page summary) in headless Chromium.

    python docs/make_report_screenshot.py [FOLDER] [--out PATH] [--width PX]

FOLDER is a batch folder with a ``report.html`` (default
``results/normal_vs_depression``, which the README's first command makes). The
page is opened from the file in a ``--width`` CSS pixels wide window, and
everything from its top to the end of the one-page summary is saved as PNG
(default ``docs/report.png``). Needs the test extras (``pip install -e ".[test]"``, for
Playwright) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from served_app import launch_chromium  # noqa: E402


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "results" / "normal_vs_depression",
                        help="batch folder with report.html (default: results/normal_vs_depression)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png", help="PNG file to write")
    parser.add_argument("--width", type=int, default=1200, help="viewport width (CSS px, default 1200)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    args = parse_args(argv)
    report = (args.folder / "report.html").resolve()
    if not report.is_file():
        print(f"error: {report} does not exist; make it with: python run.py report {args.folder}", file=sys.stderr)
        return 2
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.goto(report.as_uri())
            summary = page.locator("section.summary")
            summary.wait_for()
            box = summary.bounding_box()
            page.screenshot(path=str(args.out), full_page=True,
                            clip={"x": 0, "y": 0, "width": args.width, "height": box["y"] + box["height"] + 16})
        finally:
            browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
