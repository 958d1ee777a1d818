"""Our own personalised video pages (issue 23, part 1): dispatch registers each video
touchpoint's page at the preferences service (an idempotent, authenticated PUT); the page shows
the milestone's recording and the candidate's details, safely escaped, under a policy that
allows the configured media hosts only; a forged or altered link gets a clear page and records
nothing; each view event is recorded once, reaches engagement and the marts (DuckDB and
Postgres); erasure and retention reach the pages."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from fastapi.testclient import TestClient

from aftercare import connections, marts, plan, privacy, warehouse
from aftercare.config import load_config
from aftercare.engagement import loads
from aftercare.http import Retries, Transport
from aftercare.messages import video_page_link
from aftercare.preferences.app import create_app
from aftercare.preferences.store import Store
from aftercare.preferences.webhooks import WEBHOOK_SECRET_ENV
from aftercare.providers.base import VideoPage
from aftercare.providers.factory import Providers
from aftercare.providers.sendspark import webhook_token
from aftercare.providers.video import OwnVideoPages
from tests.test_dispatch import D, candidate, links_of, received, run_dispatch, set_clock
from tests.test_plan import placement
from tests.test_preferences import FEED, SECRET, feed, running, settings

MEDIA = "https://media.agency.example"
PAGE = {
    "candidate_id": 7,
    "milestone": "referral_ask",
    "first_name": "Zoë O'Brien <b>",
    "job_title": "Chef & <i>Sous</i>",
    "company": 'Café "Noir"',
    "recruiter_name": "Siân <script>alert(1)</script>",
    "recording": f"{MEDIA}/referral.mp4",
    "kind": "file",
    "poster": f"{MEDIA}/referral.jpg",
    "cta_kind": "referral",
    "cta_url": "https://agency.example/refer?ref=abc",
}
TOUCHPOINT = "referral_ask:placement:14:1"


@pytest.fixture
def client(tmp_path: Path) -> Any:
    with TestClient(create_app(settings(tmp_path)), follow_redirects=False) as client:
        yield client


def register(client: Any, touchpoint: str = TOUCHPOINT, **changes: Any) -> Any:
    return client.put(f"/videos/{touchpoint}", json=PAGE | changes, headers=FEED)


def path_of(url: str) -> str:
    return url.split("https://p.example", 1)[1]


def test_a_page_is_registered_once_and_its_link_names_ids_only(client: Any) -> None:
    first = register(client)
    assert first.status_code == 201
    url = first.json()["url"]
    assert url.startswith("https://p.example/v/")
    for name in ("Zo", "Brien", "Chef", "Caf", "Noir"):
        assert name not in url
    # a retry (a lost answer, a retried task) is the same page at the same link
    again = register(client)
    assert (again.status_code, again.json()["url"]) == (200, url)
    assert client.get(path_of(url)).status_code == 200
    # only dispatch may register: the feed token, and media of the configured hosts only
    assert client.put(f"/videos/{TOUCHPOINT}", json=PAGE).status_code == 401
    elsewhere = register(client, "tp-2", recording="https://evil.example/x.mp4")
    assert elsewhere.status_code == 422
    assert (
        register(client, "tp-3", recording="http://media.agency.example/x.mp4").status_code == 422
    )


def test_the_page_shows_the_recording_and_the_names_escaped(client: Any) -> None:
    url = register(client).json()["url"]
    page = client.get(path_of(url))
    assert page.status_code == 200
    html = page.text
    assert f'src="{MEDIA}/referral.mp4"' in html and f'poster="{MEDIA}/referral.jpg"' in html
    assert '<video id="video" controls' in html and "<iframe" not in html
    assert "Zoë O&#39;Brien &lt;b&gt;" in html
    assert "Chef &amp; &lt;i&gt;Sous&lt;/i&gt;" in html
    assert "Café &#34;Noir&#34;" in html
    assert "Siân &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<b>" not in html
    assert 'href="/v/' in html and "Refer a friend" in html
    policy = page.headers["content-security-policy"]
    assert f"media-src {MEDIA};" in policy and "frame-src" not in policy
    assert f"img-src data: {MEDIA};" in policy and "script-src 'self'" in policy
    # an embed of the agency's own host: an iframe, and the policy frames that host only
    embed = register(client, "tp-embed", kind="embed", recording=f"{MEDIA}/embed/42", poster=None)
    page = client.get(path_of(embed.json()["url"]))
    assert f'<iframe id="video" src="{MEDIA}/embed/42"' in page.text
    assert "<video" not in page.text and "/static/video.js" not in page.text
    policy = page.headers["content-security-policy"]
    assert f"frame-src {MEDIA};" in policy and "media-src" not in policy


def test_a_forged_or_altered_link_gets_a_clear_page_and_records_nothing(client: Any) -> None:
    url = register(client).json()["url"]
    token = url.rsplit("/", 1)[1]
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    forged = video_page_link("https://p.example/v", "another-secret-0123456789", 7, TOUCHPOINT)
    other = video_page_link("https://p.example/v", SECRET, 8, TOUCHPOINT)  # not their page
    for bad in (altered, forged.rsplit("/", 1)[1], "nonsense"):
        page = client.get(f"/v/{bad}")
        assert page.status_code == 400 and 'id="refused"' in page.text
        assert client.post(f"/v/{bad}/events", json={"event": "played"}).status_code == 400
        assert client.get(f"/v/{bad}/cta").status_code == 400
    assert client.get(path_of(other)).status_code == 404
    assert feed(client) == []


def test_each_event_is_recorded_once(client: Any) -> None:
    url = path_of(register(client).json()["url"])
    for _ in range(2):
        assert client.get(url).status_code == 200
        for event in ("played", "watched_25", "watched_50"):
            assert client.post(f"{url}/events", json={"event": event}).status_code == 204
        cta = client.get(f"{url}/cta")
        assert (cta.status_code, cta.headers["location"]) == (303, PAGE["cta_url"])
    # the page records page_opened and cta_clicked itself: a script may not post them
    for event in ("page_opened", "cta_clicked", "viewed"):
        assert client.post(f"{url}/events", json={"event": event}).status_code == 400
    events = feed(client)
    assert [(e["kind"], e["event"], e["touchpoint_id"], e["candidate_id"]) for e in events] == [
        ("video", name, TOUCHPOINT, 7)
        for name in ("page_opened", "played", "watched_25", "watched_50", "cta_clicked")
    ]
    assert {e["event_key"] for e in events} == {f"video:{TOUCHPOINT}:{e['event']}" for e in events}
    assert {e["source"] for e in events} == {"page"}


def test_a_store_of_version_1_keeps_its_events(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "create table events (seq integer primary key autoincrement, event_key text not null"
            " unique, kind text not null check (kind in ('opt_out', 'referral_click')),"
            " candidate_id integer not null, channel text, touchpoint_id text, reference text,"
            " source text not null, occurred_at text not null)"
        )
        db.execute(
            "insert into events (event_key, kind, candidate_id, channel, source, occurred_at)"
            " values ('opt_out:7:email', 'opt_out', 7, 'email', 'page', '2026-11-01T00:00:00')"
        )
        db.commit()
    store = Store(path)
    try:
        assert store.video_event("tp-1", None, "render_failed", "sendspark", {"reason": "x"})
        assert not store.video_event("tp-1", None, "render_failed", "sendspark")
        with pytest.raises(ValueError, match="'viewed' is not one of"):
            store.video_event("tp-1", 7, "viewed", "page")
        assert [(e["seq"], e["kind"], e["event"], e["detail"]) for e in store.events(0, 10)] == [
            (1, "opt_out", None, None),
            (2, "video", "render_failed", {"reason": "x"}),
        ]
    finally:
        store.close()
    Store(path).close()  # opened again: already at its version


def test_the_registry_covers_the_stores_personal_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "events.sqlite")
    store.close()
    with closing(sqlite3.connect(tmp_path / "events.sqlite")) as db:
        tables = [t for (t,) in db.execute("select name from sqlite_master where type='table'")]
        columns = {
            (t, c[1])
            for t in tables
            if t != "sqlite_sequence"
            for c in db.execute(f"pragma table_info({t})")
        }
    registered = {(t.name, c) for t in privacy.SERVICE_TABLES for c in t.columns}
    personal = {(t, c) for t, c in columns if privacy.PERSONAL_COLUMN.search(c)}
    names = {("video_pages", c) for c in ("first_name", "job_title", "company", "recruiter_name")}
    assert personal | names <= registered <= columns
    candidates = {t.name for t in privacy.SERVICE_TABLES if t.whose == "candidate"}
    assert candidates == {"video_pages", "events"}


def pages_at(url: str, timeout: float = 5) -> OwnVideoPages:
    retries = Retries(attempts=3, backoff_seconds=0.01, backoff_max_seconds=0.1, retry_after_max=1)
    transport = Transport(
        "video", rate={"per_second": 100}, connections=1, burst=1, timeout=timeout, retries=retries
    )
    return OwnVideoPages(transport, url, "test-feed-token")


FIELDS = {k: v for k, v in PAGE.items() if k != "candidate_id"}


def test_a_lost_answer_is_asked_again_and_the_page_is_the_same(tmp_path: Path) -> None:
    """The service registers the page but its answer comes after the client gave up: the PUT
    is asked again (it is idempotent) and answered with the same page's link."""
    with running(settings(tmp_path), page_delay=1.0) as url:
        link = pages_at(url, timeout=0.4).publish(VideoPage(TOUCHPOINT, 7, **FIELDS))
        assert link == video_page_link("https://p.example/v", SECRET, 7, TOUCHPOINT)
    with closing(sqlite3.connect(tmp_path / "events.sqlite")) as db:
        assert db.execute("select touchpoint_id from video_pages").fetchall() == [(TOUCHPOINT,)]


def share_links(tmp_path: Path) -> dict[int, str | None]:
    """Candidate -> the share link their Sendspark render_ready event holds, if any."""
    with closing(sqlite3.connect(tmp_path / "events.sqlite")) as db:
        rows = db.execute(
            "select candidate_id, json_extract(detail, '$.share_url') from events"
            " where event = 'render_ready' order by candidate_id"
        ).fetchall()
    return dict(rows)


def test_erasure_and_retention_reach_the_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WEBHOOK_SECRET_ENV, "test-sendspark-webhook-secret")
    with running(settings(tmp_path)) as url:
        pages = pages_at(url)
        fields = FIELDS
        links = {
            candidate_id: pages.publish(VideoPage(f"tp-{candidate_id}", candidate_id, **fields))
            for candidate_id in (7, 8, 9)
        }
        assert pages.publish(VideoPage("tp-7", 7, **fields)) == links[7]
        # Sendspark's renders of 7's and 8's videos: their share links, held in the events
        for candidate_id in (7, 8):
            token = webhook_token(
                "test-sendspark-webhook-secret", f"tp-{candidate_id}", candidate_id
            )
            body = {"event": "video_generated_dv", "shareUrl": f"https://s.example/{candidate_id}"}
            requests.post(f"{url}/webhooks/sendspark/{token}", json=body, timeout=10)
        assert share_links(tmp_path) == {7: "https://s.example/7", 8: "https://s.example/8"}
        local = {c: link.replace("https://p.example", url) for c, link in links.items()}
        assert pages.forget([7]) == 1 and pages.forget([7]) == 0
        assert requests.get(local[7], timeout=10).status_code == 404
        assert requests.get(local[8], timeout=10).status_code == 200
        assert share_links(tmp_path) == {7: None, 8: "https://s.example/8"}
        assert pages.retain(datetime.now(UTC) - timedelta(days=1)) == 0
        assert share_links(tmp_path) == {7: None, 8: "https://s.example/8"}
        assert pages.retain(datetime.now(UTC) + timedelta(seconds=1)) == 2
        assert requests.get(local[8], timeout=10).status_code == 404
        assert share_links(tmp_path) == {7: None, 8: None}


def test_a_video_touchpoint_becomes_a_page_and_its_views_reach_the_marts(
    warehouse_engine: sa.Engine, preferences_service: Any
) -> None:
    engine, service, config = warehouse_engine, preferences_service, load_config()
    warehouse.migrate(engine)
    candidate(engine, 4, first_name="Zoë O'Brien", email="zoe@example.com")  # video by email
    placement(engine, 14, 4, start_date=D - timedelta(days=90), job_title="Chef <Sous>")
    plan.plan(engine, config, D)
    set_clock(service.sandbox, "2026-11-23T12:00:00Z")
    assert run_dispatch(engine, config)["sent"] == 1
    [mail] = received(service.sandbox, "sendgrid")
    [link] = links_of(mail, "/v/")
    html = next(c["value"] for c in mail["content"] if c["type"] == "text/html")
    poster = config.dispatch.videos["referral_ask"].poster
    assert f'<a href="{link}"><img src="{poster}"' in html and "Play your video" in html
    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert "Zoë O&#39;Brien" in page.text and "Chef &lt;Sous&gt;" in page.text
    assert config.dispatch.videos["referral_ask"].recording in page.text
    for event in ("played", "watched_25", "played"):
        requests.post(f"{link}/events", json={"event": event}, timeout=10).raise_for_status()

    feed_client = Providers(config, "email", connections.get_connection).preferences
    now = datetime.now(UTC)
    assert loads.load_preferences(engine, config, feed_client, now)["video_events"] == 3
    with engine.begin() as conn:  # the feed read again from the start adds nothing
        conn.execute(sa.text("delete from engagement.watermarks"))
    assert loads.load_preferences(engine, config, feed_client, now)["video_events"] == 3
    with engine.connect() as conn:
        events = conn.execute(
            sa.text(
                "select touchpoint_id, channel, event from engagement.delivery_events"
                " order by event"
            )
        ).all()
    tp = "referral_ask:placement:14:1"
    assert [tuple(e) for e in events] == [
        (tp, "video", "page_opened"),
        (tp, "video", "played"),
        (tp, "video", "watched_25"),
    ]
    marts.rebuild(engine)
    with engine.connect() as conn:
        [row] = conn.execute(
            sa.text(
                "select channel, sent, opened_or_viewed from marts.touchpoint_funnel"
                " where milestone = 'referral_ask'"
            )
        ).all()
    assert tuple(row) == ("video", 1, 1)


def test_retention_removes_the_pages_past_their_days(
    tmp_path: Path, duckdb_warehouse: Path
) -> None:
    from aftercare.privacy import retention

    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    config = load_config()
    with running(settings(tmp_path)) as url:
        pages = pages_at(url)
        pages.publish(VideoPage(TOUCHPOINT, 7, **FIELDS))
        days = config.retention.video_pages_days
        soon = datetime.now(UTC) + timedelta(days=days - 1)
        assert retention.enforce(engine, config, soon, pages)["video_pages_removed"] == 0
        later = datetime.now(UTC) + timedelta(days=days, minutes=1)
        assert retention.enforce(engine, config, later, pages)["video_pages_removed"] == 1
    engine.dispose()
