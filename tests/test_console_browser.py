"""The ops console in a real Airflow UI, driven by headless Chromium (Playwright with the
system's Chromium): an api-server (tests/airflow_cluster.py, the DAGs serialized) over a DuckDB
warehouse holding the ops-read tests' hand-made data. The UI logs in, the "Aftercare" entry
opens the console inside the UI, every page renders with no console error, its navigation works,
a look-up and a pause work through the forms (the pause a queued run of aftercare_ops), the run
tab shows on that run's page, and a page still answers while another process holds the DuckDB
warehouse's write lock. Screenshots: console_*.png in the temporary folder."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from aftercare import warehouse
from aftercare.console import URL_PREFIX
from aftercare.names import OPS_DAG
from tests import airflow_cluster
from tests.test_ops_read import CANDIDATES, DAY, fill

pytestmark = pytest.mark.slow

#: where the screenshots go (to look at the pages: console_*.png)
SHOTS = Path(tempfile.gettempdir())
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDE, NARROW = {"width": 1400, "height": 900}, {"width": 390, "height": 844}
DAGS = ["aftercare_nightly", "aftercare_dispatch", "aftercare_engagement", OPS_DAG]
#: the console's nav entries and the heading each page opens with
PAGES = {
    "Today": "Touchpoints due on",
    "Failures": "Failures",
    "Candidates": "Candidate look-up",
    "Quarantine": "Quarantine",
    "Milestones": "Milestones",
}


def shot(page: Any, name: str, full_page: bool = False) -> None:
    page.screenshot(path=SHOTS / f"console_{name}.png", full_page=full_page)


@pytest.fixture
def ui(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[airflow_cluster.Cluster, Path]]:
    """A running Airflow (its UI on cluster.url) whose warehouse is a filled DuckDB file with
    its snapshot published; the DAGs parsed."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed here (.ci/run installs Debian's chromium)")
    path = tmp_path / "warehouse.duckdb"
    engine = warehouse.create_engine(sa.URL.create("duckdb", database=str(path)))
    warehouse.migrate(engine)
    fill(engine)
    warehouse.publish_snapshot(engine)
    engine.dispose()
    connection = {"conn_type": "duckdb", "host": str(path)}
    monkeypatch.setenv("AIRFLOW_CONN_AFTERCARE_WAREHOUSE", json.dumps(connection))
    # an api-server alone may keep its metadata in SQLite (no executor, no scheduler)
    metadata = f"sqlite:///{tmp_path / 'airflow.db'}"
    with airflow_cluster.cluster(
        tmp_path / "airflow", metadata, DAGS, processes=("api-server",)
    ) as cluster:
        yield cluster, path


def test_the_console_in_the_airflow_ui(ui: tuple[airflow_cluster.Cluster, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    cluster, path = ui
    errors: list[str] = []

    def watch(page: Any) -> None:
        page.on("console", lambda m: m.type == "error" and errors.append(f"{m.text} {m.location}"))
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=WIDE)
        watch(page)
        # log in (all users are admins in this cluster: the UI logs in by itself) and open the
        # console from the UI's top bar
        page.goto(cluster.url + "/")
        page.get_by_role("link", name="Aftercare").or_(
            page.get_by_role("button", name="Aftercare")
        ).first.click()
        frame = page.frame_locator('iframe[title="Aftercare"]')
        expect(frame.locator("h1")).to_contain_text("Touchpoints due on", timeout=30_000)
        shot(page, "in_ui")

        # every page of the console's own navigation, inside the UI
        for name, heading in PAGES.items():  # Today first: today, nothing due
            frame.get_by_role("navigation").get_by_role("link", name=name).click()
            expect(frame.locator("h1")).to_contain_text(heading)
            expect(frame.locator(".fresh")).to_contain_text("Data as of")
            shot(page, name.lower())

        # another day through the Today page's form: its counts, each a link to its rows
        frame.get_by_role("navigation").get_by_role("link", name="Today").click()
        expect(frame.locator("h1")).to_contain_text("Touchpoints due on")
        frame.locator("#day").fill(DAY.isoformat())
        frame.get_by_role("button", name="Show").click()
        expect(frame.locator("h1")).to_contain_text(f"Touchpoints due on {DAY}")
        frame.locator('a[href*="milestone=first_day"][href*="status=failed"]').click()
        expect(frame.get_by_role("link", name="back to the day")).to_be_visible()
        expect(frame.get_by_text("twilio_21211").first).to_be_visible()
        shot(page, "rows")

        # a look-up by email through the form: the candidate's page
        email = CANDIDATES[2][0]
        frame.get_by_role("navigation").get_by_role("link", name="Candidates").click()
        frame.get_by_label("ATS candidate id, email or mobile").fill(email)
        frame.get_by_role("button", name="Look up").click()
        expect(frame.locator("h1")).to_contain_text("Candidate 2")
        expect(frame.get_by_text(email)).to_be_visible()  # an admin may see contacts
        shot(page, "candidate")

        # while another process holds the warehouse's write lock, a page still answers
        with duckdb.connect(str(path)) as holder:
            holder.execute("begin transaction")
            answer = page.request.get(f"{cluster.url}{URL_PREFIX}/quarantine", timeout=15_000)
            assert answer.status == 200 and "open rows" in answer.text()

        # pause a milestone: a queued run of aftercare_ops, shown pending (no scheduler here
        # to apply it: tests/test_console.py and the ops DAG's own tests cover the rest)
        frame.get_by_role("navigation").get_by_role("link", name="Milestones").click()
        frame.locator("#comment-first_day").fill("template typo")
        frame.locator("#milestone-first_day").get_by_role("button", name="Pause").click()
        expect(frame.locator("#milestone-first_day")).to_contain_text("pending pause asked by")
        runs = cluster.api("GET", f"/dags/{OPS_DAG}/dagRuns")["dag_runs"]
        assert [(run["conf"]["target"], run["state"]) for run in runs] == [("first_day", "queued")]
        run_id = runs[0]["dag_run_id"]
        shot(page, "pending")

        # the run tab on that run's page in the UI
        page.goto(f"{cluster.url}/dags/{OPS_DAG}/runs/{run_id}")
        # the run page's tab, not the top bar's link of the same name (which may be the only
        # "Aftercare" on the page until the run's tabs have rendered)
        page.locator('a[href$="/plugin/aftercare-run"]').click()
        expect(page).to_have_url(re.compile(r"/plugin/aftercare-run$"))
        tab = page.frame_locator('iframe[title="Aftercare"]')
        expect(tab.locator("h1")).to_contain_text(f"{OPS_DAG}: what this run did")
        expect(tab.get_by_text("Nothing of this run is in the warehouse")).to_be_visible()
        shot(page, "run_tab")

        # a narrow window: the console alone, as a phone would show it
        narrow = browser.new_page(viewport=NARROW)
        watch(narrow)
        narrow.context.add_cookies(page.context.cookies())
        for name in ("today", "candidates/2", "quarantine", "milestones"):
            narrow.goto(f"{cluster.url}{URL_PREFIX}/{'' if name == 'today' else name}")
            expect(narrow.locator("h1")).to_be_visible()
            shot(narrow, f"narrow_{name.split('/')[0]}", full_page=True)
        browser.close()

    assert errors == []
    # what was typed into the look-up is not in the api-server's log (the access log included)
    assert email not in cluster.log("api-server")
