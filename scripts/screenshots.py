"""Screenshots of the page for docs/: desktop and phone size, one face and many (an example each).

    python scripts/screenshots.py http://127.0.0.1:7860 docs/    # a running app; needs Debian's chromium

The examples' results are made in advance by the app, so a click shows them; nothing else is run.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

SIZES = {"desktop": (1400, 1100), "phone": (390, 844)}
SHOTS = {"one_face": "damaged_old_photo", "many_faces": "group_composite"}  # the examples clicked


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("out", type=Path)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("error: no chromium (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for size, (width, height) in SIZES.items():
            for shot, label in SHOTS.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(args.url)
                page.locator(f"#examples img[src*={label!r}]").first.click()
                page.locator("#faces img").first.wait_for(timeout=60_000)
                page.wait_for_timeout(1500)  # images finish loading
                path = args.out / f"app_{size}_{shot}.png"
                page.screenshot(path=str(path), full_page=True)
                print(path)
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
