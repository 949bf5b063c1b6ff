"""Take the README's screenshots from a freshly seeded demo jam.

.venv/bin/python -m tests.browser.screenshots docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from jam.application import JamApplication
from jam.demo import seed_or_reuse
from jam.settings import Settings
from projections import queries
from tests.browser.conftest import CHROMIUM
from tests.ui.harness import web_worker
from ui.bootstrap import build


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = Settings(data_dir=work / "var")
        with JamApplication(settings) as app:
            demo = seed_or_reuse(app)
            seeded = app.position()
        services = build(settings)
        services.runner.catch_up()
        with services.views.reading() as cur:
            top = queries.ideas(cur, str(demo.jam_id), sort="top", limit=1)[0]
        services.close()
        with web_worker(work, {}) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            plan = (
                ("participant", ["jam", "thread"]),
                ("organizer", ["jam-central"]),
                ("leader", ["shortlist"]),
            )
            for role, shots in plan:
                page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
                page.goto(base + "/")
                page.get_by_label("Invite code").fill(demo.invites[role])
                page.get_by_label("Your name").fill(
                    {"participant": "Ada", "organizer": "Olga"}.get(role, "Lee")
                )
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state()
                if role != "participant":  # wait until the topics and ranking include the demo
                    page.goto(f"{base}/api/jams/{demo.jam_id}/shortlist?after={seeded}")
                for shot in shots:
                    path = {
                        "jam": f"/jams/{demo.jam_id}?sort=hot",
                        "thread": f"/ideas/{top.id}",
                        "jam-central": f"/jams/{demo.jam_id}/central",
                        "shortlist": f"/jams/{demo.jam_id}/leadership",
                    }[shot]
                    page.goto(base + path)
                    page.screenshot(path=str(out / f"{shot}.png"), full_page=False)
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
