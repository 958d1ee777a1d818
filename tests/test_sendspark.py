"""Sendspark (issue 23), against the sandbox that plays it: renders asked for ahead within its
limits (30 calls and 1 bulk request a minute, measured on the sandbox clock its received calls
are stamped with), a retried request or a lost answer never making a second prospect, webhooks
making renders ready through the candidate-facing service's feed, due.sql sending the ready
ones with their share URL and the others falling back to our own page with a reason (DuckDB and
Postgres), forged webhook calls refused with nothing recorded."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml
from airflow.sdk.exceptions import AirflowSkipException

from aftercare import plan, warehouse
from aftercare.config import Config, load_config
from aftercare.dispatch import renders
from aftercare.engagement import loads
from aftercare.http import Retries, Transport
from aftercare.preferences.app import ServiceSettings
from aftercare.providers.preferences import PreferencesFeed
from aftercare.providers.sendspark import Pace, Paces, Prospect, Sendspark, webhook_token
from tests import point_connections_at
from tests.test_dispatch import D, force, links_of, received, run_dispatch, set_clock
from tests.test_plan import candidate, placement
from tests.test_preferences import FEED_TOKEN, running
from tests.test_preferences import settings as preferences_settings

WEBHOOK_SECRET = "test-sendspark-webhook-secret"  # noqa: S105
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # the night of D


class SandboxTime:
    """The sandbox clock as `Pace` reads it: waiting moves the clock on, never sleeps."""

    def __init__(self, url: str) -> None:
        self.url = url

    def now(self) -> float:
        return requests.get(f"{self.url}/sandbox/clock", timeout=10).json()["now"] / 1000

    def sleep(self, seconds: float) -> None:
        at = datetime.fromtimestamp(math.ceil((self.now() + seconds) * 1000) / 1000, UTC)
        set_clock(SimpleNamespace(url=self.url), at.isoformat())


def transport(timeout: float = 5) -> Transport:
    retries = Retries(
        attempts=4, backoff_seconds=0.01, backoff_max_seconds=0.05, retry_after_max=0.05
    )
    return Transport(
        "sendspark", rate={"per_second": 1000}, connections=2, timeout=timeout, retries=retries
    )


def client(sandbox: Any, webhook_base: str = "http://127.0.0.1:9", timeout: float = 5) -> Sendspark:
    settings, time = sandbox.settings.sendspark, SandboxTime(sandbox.url)
    return Sendspark(
        transport(timeout),
        f"{sandbox.url}/sendspark",
        workspace=settings.workspace,
        api_key=settings.api_key,
        api_secret=settings.api_secret,
        webhook_base=webhook_base,
        webhook_secret=WEBHOOK_SECRET,
        paces=Paces(Pace(30, time.now, time.sleep), Pace(1, time.now, time.sleep)),
    )


def calls(sandbox: Any) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.url}/sandbox/sendspark/calls", timeout=10).json()["data"]


def prospects(sandbox: Any) -> list[dict[str, Any]]:
    return requests.get(f"{sandbox.url}/sandbox/sendspark/received", timeout=10).json()["data"]


def within_limits(made: list[dict[str, Any]]) -> None:
    """No call refused, and at most 30 calls (but bulk) and 1 bulk in any 60 s of the clock."""
    assert all(call["status"] == 200 for call in made), made
    for kind, limit in (("bulk", 1), ("calls", 30)):
        times = [c["at"] for c in made if (c["endpoint"] == "bulk") == (kind == "bulk")]
        for i, at in enumerate(times):
            assert sum(at <= t < at + 60_000 for t in times[i:]) <= limit, kind


def prospect(number: int) -> Prospect:
    return Prospect(
        f"referral_ask:placement:{number}:1",
        number,
        "Zoë O'Brien",
        f"c{number}@example.com",
        "Acme",
        "Welder",
    )


def test_a_retried_request_or_a_lost_answer_makes_no_second_prospect(sandbox: Any) -> None:
    set_clock(sandbox, START.isoformat())
    sendspark = client(sandbox, timeout=0.5)
    requests.put(
        f"{sandbox.url}/sandbox/sendspark/faults", json={"hang_seconds": 1.5}, timeout=10
    ).raise_for_status()
    # the look-up meets two 429s, then the add is accepted and its answer lost
    force(sandbox, "sendspark", "429", "429", "ok", "timeout_after_accept")
    made = sendspark.add_prospect("referral_ask", prospect(1))
    again = sendspark.add_prospect("referral_ask", prospect(1))  # a retried task
    assert made["id"] == again["id"]
    assert [p["id"] for p in prospects(sandbox)] == [made["id"]]
    # asked once: the retry and the lost answer were looked up (404, then found twice)
    assert [c["endpoint"] for c in calls(sandbox)] == ["GET", "POST", "GET", "GET"]
    assert made["status"] == "processing" and made["shareUrl"] is None  # rendered later


def test_the_client_keeps_within_30_calls_a_minute(sandbox: Any) -> None:
    set_clock(sandbox, START.isoformat())
    sendspark = client(sandbox)
    for number in range(40):
        assert sendspark.find("referral_ask", f"c{number}@example.com") is None
    made = calls(sandbox)
    assert len(made) == 40
    within_limits(made)
    assert made[-1]["at"] - made[0]["at"] >= 60_000  # the 31st waited for the minute


def sendspark_config(bulk_size: int) -> Config:
    data = load_config().model_dump(mode="json")
    data["dispatch"]["videos"]["referral_ask"] |= {
        "platform": "sendspark",
        "sendspark_campaign": "referral_ask",
    }
    data["dispatch"]["sendspark"] |= {"render_ahead_days": 3, "bulk_size": bulk_size}
    return Config.model_validate(data)


@pytest.fixture
def world(
    warehouse_engine: sa.Engine,
    sandbox: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SimpleNamespace]:
    """A migrated warehouse, the sandbox, and the candidate-facing service receiving the
    sandbox's webhooks."""
    warehouse.migrate(warehouse_engine)
    monkeypatch.setenv("AFTERCARE_SENDSPARK_WEBHOOK_SECRET", WEBHOOK_SECRET)
    origins = ServiceSettings.video_origins_of(load_config())  # our own pages' media
    with running(preferences_settings(tmp_path, video_origins=origins)) as url:
        yield SimpleNamespace(engine=warehouse_engine, sandbox=sandbox, service=url)


def referral_asks(engine: sa.Engine, due: dict[int, date]) -> None:
    """Candidate n (email cn@example.com) with a placement whose referral ask (video) is due
    on ``due[n]`` (90 days after its start)."""
    for number, day in due.items():
        candidate(engine, number, email=f"c{number}@example.com", first_name=f"Cand{number}")
        placement(engine, 100 + number, number, start_date=day - timedelta(days=90))


def render_rows(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from aftercare.video_renders")).mappings().all()
    return {row["touchpoint_id"]: dict(row) for row in rows}


def due_rows(engine: sa.Engine, config: Config, now: datetime) -> dict[str, dict[str, Any]]:
    params = {
        "now": now.isoformat(),
        "zone": config.agency.time_zone,
        "quiet_start": config.planning.quiet_hours_start.isoformat(),
        "quiet_end": config.planning.quiet_hours_end.isoformat(),
        "marketing": "[]",
    }
    with warehouse.transaction(engine) as conn:
        rows = warehouse.query_file(conn, "dispatch/due.sql", params)
    return {row["touchpoint_id"]: row for row in rows}


def test_renders_ahead_ready_ones_sent_late_ones_fall_back(
    world: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, sandbox = world.engine, world.sandbox
    config = sendspark_config(bulk_size=4)
    # 10 referral asks due in the coming 3 days; the one due on D is planned tonight
    due = {n: D + timedelta(days=n % 3) for n in range(1, 11)}
    referral_asks(engine, due)
    plan.plan(engine, config, D)
    set_clock(sandbox, START.isoformat())
    sendspark = client(sandbox, world.service)
    counts = renders.request_ahead(engine, config, sendspark, START)
    assert counts["requested"] == 10
    rows = render_rows(engine)
    assert {r["state"] for r in rows.values()} == {"requested"}
    assert all(r["prospect_id"] for r in rows.values())
    assert len(prospects(sandbox)) == 10
    within_limits(calls(sandbox))
    assert [c["endpoint"] for c in calls(sandbox)] == ["bulk"] * 3  # 4 + 4 + 2, a minute apart
    # asked again (a retried task): nothing new is asked for
    assert renders.request_ahead(engine, config, sendspark, START) == {}
    assert len(calls(sandbox)) == 3

    # the renders of all but candidate 1's are done; their webhooks reach the service, whose
    # feed the warehouse loads
    sandbox_state = sandbox.app.state.providers["sendspark"]
    late = next(
        p for p in sandbox_state.prospects.values() if p["contactEmail"] == "c3@example.com"
    )
    late["readyAt"] += 86_400_000
    late_webhooks = [w for w in sandbox_state.webhooks if w[3]["prospectId"] == late["id"]]
    sandbox_state.webhooks = [w for w in sandbox_state.webhooks if w not in late_webhooks]
    set_clock(sandbox, (START + timedelta(minutes=15)).isoformat())
    delivered = requests.post(f"{sandbox.url}/sandbox/sendspark/webhooks/deliver", timeout=30)
    assert delivered.json()["statuses"] == {"200": 9}
    feed = PreferencesFeed(transport(), world.service, FEED_TOKEN)
    loaded = loads.load_preferences(engine, config, feed, START)
    assert loaded["video_renders"] == 9
    rows = render_rows(engine)
    ready = {t for t, r in rows.items() if r["state"] == "ready"}
    assert len(ready) == 9 and "referral_ask:placement:103:1" not in ready
    assert all(rows[t]["share_url"].startswith("https://sendspark.sandbox") for t in ready)
    # engagement keeps the events, not the links (a video personalised with the name): those
    # stay in video_renders alone, which erasure clears
    with engine.connect() as conn:
        details = conn.execute(
            sa.text(
                "select cast(detail as varchar) from engagement.delivery_events"
                " where event = 'render_ready'"
            )
        ).scalars()
        assert [json.loads(detail) for detail in details] == [{"source": "sendspark"}] * 9

    # on D (send time come): the ready one goes with its share URL; candidate 3's, due on D
    # and not rendered, falls back to our own page, the reason recorded
    send_time = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert renders.fall_back(engine, config, send_time) == {"video_fallback": 1}
    rows = render_rows(engine)
    assert rows["referral_ask:placement:103:1"]["state"] == "fallback"
    assert rows["referral_ask:placement:103:1"]["reason"] == "render_not_ready"
    items = due_rows(engine, config, send_time)
    assert set(items) == {f"referral_ask:placement:{100 + n}:1" for n in (3, 6, 9)}
    assert items["referral_ask:placement:103:1"]["video_url"] is None
    for number in (6, 9):
        touchpoint = f"referral_ask:placement:{100 + number}:1"
        assert items[touchpoint]["video_url"] == rows[touchpoint]["share_url"]
    # a webhook arriving after the fall-back changes nothing: it went out through our page
    sandbox_state.webhooks = sorted(sandbox_state.webhooks + late_webhooks, key=lambda w: w[:2])
    late["readyAt"] -= 86_400_000
    set_clock(sandbox, (START + timedelta(hours=16)).isoformat())
    requests.post(f"{sandbox.url}/sandbox/sendspark/webhooks/deliver", timeout=30)
    loads.load_preferences(engine, config, feed, START)
    assert render_rows(engine)["referral_ask:placement:103:1"]["state"] == "fallback"

    # the sends, as the DAG's send tasks make them: the ready ones' emails link to their
    # renders, the fallen-back one's to our own page, the only page registered
    point_connections_at(sandbox, monkeypatch)
    monkeypatch.setenv(
        "AIRFLOW_CONN_AFTERCARE_PREFERENCES",
        json.dumps({"conn_type": "http", "host": world.service, "password": FEED_TOKEN}),
    )
    path = tmp_path / "sendspark.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    monkeypatch.setenv("AFTERCARE_CONFIG", str(path))
    assert run_dispatch(engine, config)["sent"] == 3
    mails = {m["custom_args"]["touchpoint_id"]: m for m in received(sandbox, "sendgrid")}
    assert set(mails) == set(items)
    for number in (6, 9):
        touchpoint = f"referral_ask:placement:{100 + number}:1"
        assert links_of(mails[touchpoint], "/share/") == [rows[touchpoint]["share_url"]]
        assert links_of(mails[touchpoint], "/v/") == []
    [own] = links_of(mails["referral_ask:placement:103:1"], "/v/")
    assert own.startswith("https://p.example/v/")
    assert links_of(mails["referral_ask:placement:103:1"], "/share/") == []
    with closing(sqlite3.connect(tmp_path / "events.sqlite")) as db:
        pages = db.execute("select touchpoint_id from video_pages").fetchall()
    assert pages == [("referral_ask:placement:103:1",)]
    # erasing candidate 6 clears the link to the video personalised with their name
    with warehouse.transaction(engine) as conn:
        warehouse.execute_file(conn, "privacy/erase_touchpoints.sql", {"candidate_ids": '["6"]'})
    rows = render_rows(engine)
    assert rows["referral_ask:placement:106:1"]["share_url"] is None
    assert rows["referral_ask:placement:109:1"]["share_url"] is not None


def test_each_fall_back_says_why(warehouse_engine: sa.Engine) -> None:
    """Due and not ready: asked for and not rendered yet, rendered in error, or never asked
    for (no email address: no prospect); a ready one does not fall back."""
    engine, config = warehouse_engine, sendspark_config(bulk_size=10)
    warehouse.migrate(engine)
    referral_asks(engine, dict.fromkeys(range(1, 5), D))
    candidate(engine, 1, email=None, first_name="Cand1")  # video by text: no prospect
    plan.plan(engine, config, D)
    with engine.begin() as conn:
        for number, state in ((2, "failed"), (3, "requested"), (4, "ready")):
            conn.execute(
                sa.text(
                    "insert into aftercare.video_renders (touchpoint_id, candidate_id, milestone,"
                    " campaign, state, share_url, requested_at) values (:t, :c, 'referral_ask',"
                    " 'referral_ask', :state, :url, :at)"
                ),
                {
                    "t": f"referral_ask:placement:{100 + number}:1",
                    "c": number,
                    "state": state,
                    "url": "https://s.example/4" if state == "ready" else None,
                    "at": START.isoformat(),
                },
            )
    send_time = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert renders.fall_back(engine, config, send_time - timedelta(hours=7)) == {}  # not due
    assert renders.fall_back(engine, config, send_time) == {"video_fallback": 3}
    rows = render_rows(engine)
    assert {t: (r["state"], r["reason"]) for t, r in rows.items()} == {
        "referral_ask:placement:101:1": ("fallback", "render_not_requested"),
        "referral_ask:placement:102:1": ("fallback", "render_failed"),
        "referral_ask:placement:103:1": ("fallback", "render_not_ready"),
        "referral_ask:placement:104:1": ("ready", None),
    }
    assert renders.fall_back(engine, config, send_time) == {}  # once


def test_a_lost_bulk_answer_is_looked_up_not_asked_again(world: SimpleNamespace) -> None:
    engine, sandbox = world.engine, world.sandbox
    config = sendspark_config(bulk_size=10)
    referral_asks(engine, {1: D + timedelta(days=1), 2: D + timedelta(days=2)})
    set_clock(sandbox, START.isoformat())
    requests.put(
        f"{sandbox.url}/sandbox/sendspark/faults", json={"hang_seconds": 1.5}, timeout=10
    ).raise_for_status()
    force(sandbox, "sendspark", "timeout_after_accept")
    sendspark = client(sandbox, world.service, timeout=0.5)
    assert renders.request_ahead(engine, config, sendspark, START) == {"in_doubt": 2}
    assert {r["prospect_id"] for r in render_rows(engine).values()} == {None}
    # the next night: each looked up (found), none added again
    assert renders.request_ahead(engine, config, sendspark, START) == {"looked_up": 2}
    assert len(prospects(sandbox)) == 2
    assert [c["endpoint"] for c in calls(sandbox)] == ["bulk", "GET", "GET"]
    assert all(r["prospect_id"] for r in render_rows(engine).values())


def test_forged_webhooks_are_refused_and_record_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERCARE_SENDSPARK_WEBHOOK_SECRET", WEBHOOK_SECRET)
    with running(preferences_settings(tmp_path)) as url:
        good = webhook_token(WEBHOOK_SECRET, "referral_ask:placement:7:1", 7)
        forged = webhook_token("another secret", "referral_ask:placement:7:1", 7)
        body = {"event": "video_generated_dv", "shareUrl": "https://sendspark.example/share/x"}
        for token in (forged, good[:-2] + "xx", "nonsense", ""):
            response = requests.post(f"{url}/webhooks/sendspark/{token}", json=body, timeout=10)
            assert response.status_code in (404, 405), token
        feed = requests.get(
            f"{url}/feed", headers={"Authorization": f"Bearer {FEED_TOKEN}"}, timeout=10
        )
        assert feed.json()["events"] == []
        watched = {"event": "video_watched", "percentage": 60}
        for payload in (body, body, watched):
            requests.post(f"{url}/webhooks/sendspark/{good}", json=payload, timeout=10)
        events = requests.get(
            f"{url}/feed", headers={"Authorization": f"Bearer {FEED_TOKEN}"}, timeout=10
        )
        recorded = [(e["event_key"], e["detail"]) for e in events.json()["events"]]
        assert recorded == [
            ("video:referral_ask:placement:7:1:render_ready", {"share_url": body["shareUrl"]}),
            ("video:referral_ask:placement:7:1:watched_25", None),
            ("video:referral_ask:placement:7:1:watched_50", None),
        ]


def test_the_nightly_task_asks_through_the_connection(
    duckdb_warehouse: Path, provider_connections: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """The task body as the DAG runs it: the connection `aftercare_sendspark` (as the local
    bootstrap writes it), the config's sendspark milestone, skipped without one."""
    from aftercare import connections
    from aftercare.tasks import nightly

    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    referral_asks(engine, {1: D + timedelta(days=1)})
    set_clock(provider_connections, START.isoformat())
    with pytest.raises(AirflowSkipException):  # the shipped config: no sendspark milestone
        nightly.request_renders(as_of=START, full_refresh=False, preview_days=0)
    path = tmp_path / "sendspark.yaml"
    path.write_text(yaml.safe_dump(sendspark_config(bulk_size=10).model_dump(mode="json")))
    monkeypatch.setenv("AFTERCARE_CONFIG", str(path))
    counts = nightly.request_renders(as_of=START, full_refresh=False, preview_days=0)
    assert counts == {"requested": 1}
    assert [c["endpoint"] for c in calls(provider_connections)] == ["bulk"]
    [row] = render_rows(engine).values()
    assert (row["state"], row["campaign"]) == ("requested", "referral_ask")
    engine.dispose()
