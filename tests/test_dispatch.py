"""The dispatch stage against the sandbox providers: the ledger's due touchpoints go out on
their channels exactly once, whatever fails (DuckDB and Postgres for the ledger side).

Each test plans a day with the real plan stage over hand-made staging rows, stands the
sandbox's clock at a moment, and runs dispatch in-process: prepare, each batch's send (the
send task's body), fold. What the providers received is read from the sandbox."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import sqlalchemy as sa
import yaml

from aftercare import connections, plan, warehouse
from aftercare.config import Config, load_config
from aftercare.connections import clock, get_connection, staging_path
from aftercare.dispatch import batches
from aftercare.dispatch.journal import BatchItem
from aftercare.messages import verify_unsubscribe
from aftercare.names import CHANNELS
from aftercare.tasks import dispatch
from tests import ROOT, test_plan
from tests.test_plan import ledger, placement

D = date(2026, 11, 23)  # a Monday: the sandbox clock's first day
MOBILE = "+447911123456"


def candidate(engine: sa.Engine, candidate_id: int, **fields: Any) -> None:
    """A staged candidate with a name and a mobile number the sandbox's Twilio accepts."""
    fields = {"first_name": f"Cand{candidate_id}", "mobile_e164": MOBILE, **fields}
    test_plan.candidate(engine, candidate_id, **fields)


@pytest.fixture
def engine(warehouse_engine: sa.Engine, provider_connections: Any) -> sa.Engine:
    warehouse.migrate(warehouse_engine)
    return warehouse_engine


@pytest.fixture
def duck(duckdb_warehouse: Any, provider_connections: Any) -> sa.Engine:
    engine = connections.warehouse_engine()
    warehouse.migrate(engine)
    yield engine
    engine.dispose()


def set_clock(sandbox: Any, at: str) -> None:
    response = requests.post(f"{sandbox.url}/sandbox/clock/set", params={"at": at}, timeout=10)
    response.raise_for_status()


def video_pages(service: Any) -> list[str]:
    """The touchpoints whose video page the preferences service holds."""
    with closing(sqlite3.connect(service.store)) as db:
        return [t for (t,) in db.execute("select touchpoint_id from video_pages order by 1")]


def links_of(mail: dict[str, Any], path: str) -> list[str]:
    """The links of an email's text part whose path starts ``path``."""
    text = next(c["value"] for c in mail["content"] if c["type"] == "text/plain")
    return [word for word in text.split() if f"{path}" in word and word.startswith("http")]


def received(sandbox: Any, service: str) -> list[dict[str, Any]]:
    response = requests.get(f"{sandbox.url}/sandbox/{service}/received", timeout=10)
    return response.json()["data"]


def faults(sandbox: Any, service: str, **settings: Any) -> None:
    requests.put(
        f"{sandbox.url}/sandbox/{service}/faults", json=settings, timeout=10
    ).raise_for_status()


def force(sandbox: Any, service: str, *outcomes: str) -> None:
    requests.post(
        f"{sandbox.url}/sandbox/{service}/faults/next",
        json={"outcomes": list(outcomes)},
        timeout=10,
    ).raise_for_status()


def run_dispatch(engine: sa.Engine, config: Config, *, dry_run: bool = False) -> Counter[str]:
    """One dispatch run in-process, as the DAG runs it: prepare, send each batch, fold."""
    prepared, counts = batches.prepare(
        engine,
        config,
        clock().now(),
        staging_path,
        run_id=f"test-{time.monotonic_ns()}",
        try_number=1,
        dry_run=dry_run,
    )
    for channel in CHANNELS:
        for batch in prepared[channel]:
            counts.update(dispatch.send_batch(**batch))
    folded = batches.fold(engine, config, staging_path)
    counts.update({f"folded_{k}": v for k, v in folded.items()})
    return counts


def sent_by_touchpoint(sandbox: Any) -> Counter[str]:
    """How many messages each touchpoint got, over every provider (SMS by its body's sid)."""
    counts: Counter[str] = Counter()
    for email in received(sandbox, "sendgrid"):  # one per personalization
        counts[email["custom_args"]["touchpoint_id"]] += 1
    for message in received(sandbox, "twilio"):
        counts[f"sms:{message['to']}:{message['body']}"] += 1
    return counts


def ledger_rows(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select * from aftercare.touchpoints")).mappings().all()
    return {row["touchpoint_id"]: dict(row) for row in rows}


def day_of_every_channel(engine: sa.Engine, sandbox: Any) -> dict[str, tuple[str, str]]:
    """Staging rows whose touchpoints on D cover every channel and route, one candidate each
    (so the frequency cap keeps them all). The call task's placement is one of the sandbox
    ATS's, with its candidate and recruiter (the ATS refuses tasks for unknown records)."""
    candidate(engine, 1)  # first_day by sms
    placement(engine, 11, 1, start_date=D)
    candidate(engine, 2, mobile_e164=None, first_name="Ann")  # first_day by email
    placement(engine, 12, 2, start_date=D)
    truth = requests.get(f"{sandbox.url}/sandbox/ats/truth/Placement?count=1", timeout=10)
    [ats_placement] = truth.json()["data"]
    candidate_id = ats_placement["candidate"]["id"]
    candidate(engine, candidate_id)  # check_in by email, and the recruiter's call task (phone)
    placement(
        engine,
        ats_placement["id"],
        candidate_id,
        owner_id=ats_placement["owner"]["id"],
        start_date=date(2026, 10, 19),
    )
    candidate(engine, 4)  # referral_ask: video, by email
    placement(engine, 14, 4, start_date=date(2026, 8, 25))
    candidate(engine, 5, email=None)  # work anniversary: video, by sms
    placement(engine, 15, 5, start_date=date(2025, 11, 23))
    candidate(engine, 6)  # review_request by email, with a review invitation link
    placement(engine, 16, 6, start_date=date(2026, 9, 28))
    # touchpoint id -> (channel, the provider that delivers it)
    return {
        "first_day:placement:11:1": ("sms", "twilio"),
        "first_day:placement:12:1": ("email", "sendgrid"),
        f"check_in:placement:{ats_placement['id']}:1": ("email", "sendgrid"),
        f"check_in_call:placement:{ats_placement['id']}:1": ("phone", "ats"),
        "referral_ask:placement:14:1": ("video", "sendgrid"),
        "work_anniversary:placement:15:1": ("video", "twilio"),
        "review_request:placement:16:1": ("email", "sendgrid"),
    }


def test_every_channel_once_and_the_ledger_says_so(
    engine: sa.Engine, provider_connections: Any, preferences_service: Any
) -> None:
    sandbox = provider_connections
    config = load_config()
    expected = day_of_every_channel(engine, sandbox)
    plan.plan(engine, config, D)
    assert {k: v[:1] for k, v in ledger(engine).items()} == {k: ("planned",) for k in expected}

    set_clock(sandbox, "2026-11-23T12:00:00Z")
    run_dispatch(engine, config)
    rows = ledger_rows(engine)
    assert {k: (r["status"], r["channel"]) for k, r in rows.items()} == {
        k: ("sent", channel) for k, (channel, _) in expected.items()
    }
    sends = {
        k: (bool(r["provider_message_id"] and r["sent_at"]), r["attempts"]) for k, r in rows.items()
    }
    assert sends == {k: (True, 1) for k in expected}
    with engine.connect() as conn:  # folded batches keep no items: only those in flight do
        items = conn.execute(sa.text("select count(*) from aftercare.dispatch_items")).scalar()
        batches = conn.execute(
            sa.text("select count(*) from aftercare.dispatch_batches where recorded_at is not null")
        ).scalar()
    assert (items, batches > 0) == (0, True)

    emails = {e["custom_args"]["touchpoint_id"]: e for e in received(sandbox, "sendgrid")}
    assert set(emails) == {k for k, (_, service) in expected.items() if service == "sendgrid"}
    sms = received(sandbox, "twilio")
    assert sorted(m["sid"] for m in sms) == sorted(
        rows[k]["provider_message_id"] for k, (_, s) in expected.items() if s == "twilio"
    )
    tasks = requests.get(f"{sandbox.url}/sandbox/ats/truth/Task", timeout=10).json()["data"]
    [call] = [k for k, (channel, _) in expected.items() if channel == "phone"]
    assert [t["id"] for t in tasks] == [int(rows[call]["provider_message_id"])]
    assert call in tasks[0]["description"]
    # the links: the touchpoint's own video page, a review invitation with our reference, a
    # signed unsubscribe link that names the candidate, channel and touchpoint
    assert video_pages(preferences_service) == [
        "referral_ask:placement:14:1",
        "work_anniversary:placement:15:1",
    ]
    ask = emails["referral_ask:placement:14:1"]
    page = requests.get(links_of(ask, "/v/")[0], timeout=10)
    assert page.status_code == 200 and 'id="video"' in page.text
    invitations = received(sandbox, "trustpilot")
    assert [i["referenceId"] for i in invitations] == ["review_request:placement:16:1"]
    review = emails["review_request:placement:16:1"]
    text = next(c["value"] for c in review["content"] if c["type"] == "text/plain")
    assert "https://www.trustpilot.com/evaluate-link/" in text
    token = text.split("token=")[1].split()[0]
    secret = json.loads(os.environ["AIRFLOW_CONN_AFTERCARE_SIGNING"])["password"]
    assert verify_unsubscribe(token, secret) == (6, "email", "review_request:placement:16:1")
    # ... also in the one-click List-Unsubscribe header (RFC 8058)
    assert review["headers"]["List-Unsubscribe"].startswith(
        f"<{text.split('Unsubscribe: ')[1].split()[0]}>, <mailto:"
    )
    assert review["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # a second run sends nothing more
    before = sent_by_touchpoint(sandbox)
    counts = run_dispatch(engine, config)
    assert counts["batches"] == 0
    assert sent_by_touchpoint(sandbox) == before
    assert len(video_pages(preferences_service)) == 2


def test_not_before_its_time_nor_in_quiet_hours(duck: sa.Engine, provider_connections: Any) -> None:
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1)  # London: first day at 08:00 local = 08:00 UTC in November
    placement(duck, 11, 1, start_date=D)
    candidate(duck, 2, time_zone="America/New_York")  # 08:00 local = 13:00 UTC
    placement(duck, 12, 2, start_date=D)
    plan.plan(duck, config, D)

    set_clock(sandbox, "2026-11-23T07:59:00Z")
    run_dispatch(duck, config)
    assert received(sandbox, "twilio") == []
    set_clock(sandbox, "2026-11-23T08:01:00Z")
    run_dispatch(duck, config)
    assert [m["to"] for m in received(sandbox, "twilio")] == [MOBILE]
    assert ledger(duck)["first_day:placement:12:1"][0] == "planned"
    # New York's 08:00 comes at 13:00 UTC; at 01:30 UTC the next day it is 20:30 there (quiet),
    # still the 23rd: held, not sent
    set_clock(sandbox, "2026-11-24T01:30:00Z")
    counts = run_dispatch(duck, config)
    assert counts["held_quiet_hours"] == 1
    assert len(received(sandbox, "twilio")) == 1
    # the 24th in New York: the window (0 days) has passed, so it expires unsent
    set_clock(sandbox, "2026-11-24T06:00:00Z")
    run_dispatch(duck, config)
    assert ledger(duck)["first_day:placement:12:1"][:2] == ("expired", "missed_window")
    assert len(received(sandbox, "twilio")) == 1


def test_stop_suppresses_sms_from_then_on(duck: sa.Engine, provider_connections: Any) -> None:
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1)
    placement(duck, 11, 1, start_date=D)
    requests.post(
        f"{sandbox.url}/sandbox/twilio/opt-outs", json={"numbers": [MOBILE]}, timeout=10
    ).raise_for_status()
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    run_dispatch(duck, config)
    assert ledger(duck)["first_day:placement:11:1"][:2] == ("suppressed", "sms_opted_out")
    with duck.connect() as conn:
        assert conn.execute(
            sa.text("select channel from aftercare.suppressions where candidate_id = 1")
        ).scalars().all() == ["sms"]
    # the next milestone of this candidate goes by email, not sms
    placement(duck, 12, 1, start_date=date(2026, 11, 24))
    plan.plan(duck, config, date(2026, 11, 24))
    assert ledger(duck)["first_day:placement:12:1"][:3] == ("planned", None, "email")
    assert received(sandbox, "twilio") == []


@pytest.mark.slow
def test_storms_lose_nothing_and_double_nothing(duck: sa.Engine, provider_connections: Any) -> None:
    sandbox, config = provider_connections, load_config()
    for candidate_id in range(1, 41):
        candidate(
            duck,
            candidate_id,
            mobile_e164=None if candidate_id % 2 else f"+4479111{candidate_id:05d}",
        )
        placement(duck, 100 + candidate_id, candidate_id, start_date=D)
    plan.plan(duck, config, D)
    for service in ("twilio", "sendgrid"):
        faults(sandbox, service, share_429=0.3, share_500=0.2)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    for _ in range(8):
        run_dispatch(duck, config)
        if all(status == "sent" for status, *_ in ledger(duck).values()):
            break
    assert Counter(status for status, *_ in ledger(duck).values()) == {"sent": 40}
    counts = sent_by_touchpoint(sandbox)
    assert len(counts) == 40 and set(counts.values()) == {1}
    stats = requests.get(f"{sandbox.url}/sandbox/twilio/stats", timeout=10).json()["status"]
    assert stats.get("429") and stats.get("500")  # the storm did happen


def test_lost_answers_are_looked_up_not_resent(duck: sa.Engine, provider_connections: Any) -> None:
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1)  # sms
    placement(duck, 11, 1, start_date=D)
    candidate(duck, 2, mobile_e164=None)  # email
    placement(duck, 12, 2, start_date=D)
    plan.plan(duck, config, D)
    for service in ("twilio", "sendgrid"):
        faults(sandbox, service, hang_seconds=4)
        force(sandbox, service, "timeout_after_accept")
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    counts = run_dispatch(duck, config)
    assert counts["sent"] == 2
    rows = ledger_rows(duck)
    assert {r["status"] for r in rows.values()} == {"sent"}
    assert len(received(sandbox, "twilio")) == 1 and len(received(sandbox, "sendgrid")) == 1
    assert (
        rows["first_day:placement:11:1"]["provider_message_id"]
        == received(sandbox, "twilio")[0]["sid"]
    )


def two_records_sharing_a_number(duck: sa.Engine, sandbox: Any, config: Config) -> None:
    """Two candidate records of one person (one name, one mobile), each placed on D: their
    first-day texts are the same text to the same number. The sandbox clock at 09:00 on D."""
    for candidate_id in (1, 2):
        candidate(duck, candidate_id, first_name="Sam")
        placement(duck, 10 + candidate_id, candidate_id, start_date=D)
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")


def test_a_look_up_never_takes_the_text_of_another_record_with_the_same_number(
    engine: sa.Engine, provider_connections: Any
) -> None:
    """Record 11's text goes out; record 12's (the same text) gets a 500 and the look-ups fail
    too, so it stays in doubt. The next run's look-up finds record 11's text at Twilio, which
    is not 12's: 12 is sent, and each ledger row names its own message."""
    sandbox, config = provider_connections, load_config()
    two_records_sharing_a_number(engine, sandbox, config)
    force(sandbox, "twilio", "ok", "500", *["500"] * config.dispatch.max_attempts)
    run_dispatch(engine, config)
    rows = ledger_rows(engine)
    first, second = rows["first_day:placement:11:1"], rows["first_day:placement:12:1"]
    assert (first["status"], second["status"], second["in_doubt"]) == ("sent", "planned", True)
    [message] = received(sandbox, "twilio")
    assert first["provider_message_id"] == message["sid"]

    set_clock(sandbox, "2026-11-23T09:15:00Z")
    counts = run_dispatch(engine, config)
    assert (counts["sent"], counts["reconciled"]) == (1, 0)
    messages = received(sandbox, "twilio")
    assert len(messages) == 2 and messages[0]["body"] == messages[1]["body"]
    rows = ledger_rows(engine)
    assert {rows[t]["provider_message_id"] for t in rows} == {m["sid"] for m in messages}


def test_texts_to_a_number_with_one_in_doubt_wait_for_its_look_up(
    duck: sa.Engine, provider_connections: Any
) -> None:
    """Record 11's text gets a 500 and its look-ups fail: in doubt. Record 12's, to the same
    number, is not sent beside it (a later look-up could not tell the two apart); the next run
    looks 11 up first (nothing went out), then sends both."""
    sandbox, config = provider_connections, load_config()
    two_records_sharing_a_number(duck, sandbox, config)
    force(sandbox, "twilio", "500", *["500"] * config.dispatch.max_attempts)
    counts = run_dispatch(duck, config)
    assert (counts["in_doubt"], counts["held_number_in_doubt"]) == (1, 1)
    assert received(sandbox, "twilio") == []
    rows = ledger_rows(duck)
    assert rows["first_day:placement:12:1"]["attempts"] == 0

    set_clock(sandbox, "2026-11-23T09:15:00Z")
    assert run_dispatch(duck, config)["sent"] == 2
    messages = received(sandbox, "twilio")
    rows = ledger_rows(duck)
    assert {rows[t]["provider_message_id"] for t in rows} == {m["sid"] for m in messages}
    assert len(messages) == 2


def batch_item(**fields: Any) -> BatchItem:
    """A batch item with these fields, every other one empty."""
    return BatchItem.from_record({**dict.fromkeys(BatchItem.__dataclass_fields__), **fields})


def test_a_numbers_texts_share_one_batch() -> None:
    rows = [
        batch_item(touchpoint_id=f"t{i}", route="sms", mobile=f"+44791100000{i % 3}")
        for i in range(9)
    ] + [batch_item(touchpoint_id="e", route="email", mobile="+447911000000")]
    chunks = list(batches._chunks(rows, 4))
    assert [len(chunk) for chunk in chunks] == [3, 3, 4]
    for chunk in chunks:
        numbers = {row.mobile for row in chunk if row.route == "sms"}
        assert all(row in chunk for row in rows if row.route == "sms" and row.mobile in numbers)
    assert sorted(row.touchpoint_id for chunk in chunks for row in chunk) == sorted(
        row.touchpoint_id for row in rows
    )


def one_sms_batch(
    duck: sa.Engine, sandbox: Any, config: Config, size: int, *, latency_ms: int, run_id: str
) -> dict[str, Any]:
    """A batch of ``size`` first-day texts to distinct numbers, due now, Twilio answering each
    after ``latency_ms``: the descriptor a send task gets."""
    for candidate_id in range(1, size + 1):
        candidate(duck, candidate_id, mobile_e164=f"+4479111{candidate_id:05d}")
        placement(duck, 100 + candidate_id, candidate_id, start_date=D)
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    faults(sandbox, "twilio", latency_ms=latency_ms)
    prepared, _ = batches.prepare(
        duck, config, clock().now(), staging_path, run_id=run_id, try_number=1, dry_run=False
    )
    [batch] = prepared["sms"]
    return batch


def sending(
    batch: dict[str, Any], sandbox: Any, texts: int, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """The batch's send task in a process of its own (it prints its counts as JSON), once
    Twilio holds ``texts`` texts: a try under way."""
    task = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import json; from aftercare.tasks import dispatch;"
            f" print(json.dumps(dispatch.send_batch(**{batch!r})))",
        ],
        env=env or os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(received(sandbox, "twilio")) < texts and time.monotonic() < deadline:
        time.sleep(0.05)
    return task


def each_sent_once(engine: sa.Engine, sandbox: Any, due: int) -> None:
    """Every due touchpoint sent (or suppressed: the sandbox's Twilio has a seeded 2% of
    numbers that answered STOP) and at Twilio once, as the ledger says."""
    statuses = Counter(status for status, *_ in ledger(engine).values())
    assert statuses["sent"] + statuses["suppressed"] == due
    assert set(sent_by_touchpoint(sandbox).values()) == {1}
    assert len(received(sandbox, "twilio")) == statuses["sent"]


@pytest.mark.slow
def test_a_batch_is_folded_only_once_its_try_has_let_go(
    duck: sa.Engine, provider_connections: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A try still sends (orphaned by its supervisor, say) when the run folds its batch. Each
    video text waits half a second for its page before its attempt is journaled: a fold that
    read the journal then would miss those in flight, and the next run would send them again.
    The fold seals the batch (the try stops at its next touchpoint), waits for the try's claim,
    and folds a journal that holds everything the try sent."""
    from tests.test_preferences import serving

    sandbox, config = provider_connections, load_config()
    for candidate_id in range(1, 81):  # work anniversaries: video, by sms
        candidate(duck, candidate_id, email=None, mobile_e164=f"+4479111{candidate_id:05d}")
        placement(duck, 100 + candidate_id, candidate_id, start_date=date(2025, 11, 23))
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T11:00:00Z")
    with serving(sandbox, tmp_path, monkeypatch, page_delay=0.5):
        prepared, _ = batches.prepare(
            duck, config, clock().now(), staging_path, run_id="orphan", try_number=1, dry_run=False
        )
        [batch] = prepared["video"]
        task = sending(batch, sandbox, texts=10)
        batches.fold(duck, config, staging_path)  # while the try sends
        task.communicate(timeout=60)
        assert task.returncode == 0
        assert len(received(sandbox, "twilio")) < 80, "the fold must land mid-batch"

        set_clock(sandbox, "2026-11-23T11:15:00Z")
        run_dispatch(duck, config)
    each_sent_once(duck, sandbox, 80)


def test_a_killed_send_task_resumes_without_sending_twice(
    duck: sa.Engine, provider_connections: Any
) -> None:
    sandbox, config = provider_connections, load_config()
    batch = one_sms_batch(duck, sandbox, config, 60, latency_ms=100, run_id="crash")
    task = sending(batch, sandbox, texts=10)
    task.send_signal(signal.SIGKILL)
    task.communicate()
    sent_before_kill = len(received(sandbox, "twilio"))
    assert 10 <= sent_before_kill < 60, "the kill must land mid-batch"
    # the retry of the same task
    counts = Counter(dispatch.send_batch(**batch))
    assert counts["already_recorded"] + counts["reconciled"] > 0, counts
    assert sum(counts.values()) == 60, counts
    batches.fold(duck, config, staging_path)
    each_sent_once(duck, sandbox, 60)


@pytest.mark.slow
def test_two_tries_of_one_batch_never_send_at_once(
    duck: sa.Engine, provider_connections: Any, tmp_path: Any
) -> None:
    """A scheduler restart resets a send task that still runs and starts a new try on the same
    batch; the old try is told to stop (SIGTERM) only later. The new try waits for the old
    one's claim, then reads the journal; every touchpoint reaches Twilio once."""
    sandbox, config = provider_connections, load_config()
    batch = one_sms_batch(duck, sandbox, config, 100, latency_ms=300, run_id="twice")
    # four sends in flight per try: the old try takes about 8 s over the batch
    slow = yaml.safe_load(Path(os.environ["AFTERCARE_CONFIG"]).read_text())
    slow["dispatch"]["providers"]["twilio"]["concurrency"] = 4
    (tmp_path / "slow.yaml").write_text(yaml.safe_dump(slow))
    env = {**os.environ, "AFTERCARE_CONFIG": str(tmp_path / "slow.yaml")}
    old = sending(batch, sandbox, texts=1, env=env)
    new = sending(batch, sandbox, texts=0, env=env)  # the new try, while the old one sends
    time.sleep(5)  # the new try has started (and, without a claim, would be sending)
    old.send_signal(signal.SIGTERM)  # "the task shouldn't be running anymore"
    old_counts = Counter(json.loads(old.communicate(timeout=30)[0].splitlines()[-1]))
    sent_by_old = len(received(sandbox, "twilio"))
    new_counts = Counter(json.loads(new.communicate(timeout=60)[0].splitlines()[-1]))

    assert old_counts["stopped"] > 0, old_counts  # it stopped mid-batch ...
    assert sent_by_old < 100
    # ... and the new try did the rest, sending nothing twice
    assert new_counts["already_recorded"] == sum(old_counts.values()) - old_counts["stopped"]
    batches.fold(duck, config, staging_path)
    each_sent_once(duck, sandbox, 100)


#: Holds the batch (argv[1]) from another process until killed.
HOLD = (
    "import sys, time\n"
    "from airflow.sdk import ObjectStoragePath\n"
    "from aftercare.dispatch import journal\n"
    "with journal.claim(ObjectStoragePath(sys.argv[1]), 1):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(120)\n"
)


@contextmanager
def held(batch: Any) -> Iterator[None]:
    """Another process holds ``batch``'s claim for the block, then dies with ``kill -9``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(batch)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()  # no chance to let go
        holder.wait()


def test_a_claim_is_exclusive_across_processes_and_dies_with_its_holder(tmp_path: Any) -> None:
    from airflow.sdk import ObjectStoragePath

    from aftercare.dispatch import journal

    batch = ObjectStoragePath(f"file://{tmp_path}/sms-0001.jsonl")
    with held(batch):
        started = time.monotonic()
        with pytest.raises(journal.BatchClaimed), journal.claim(batch, 1.5):
            pass
        assert time.monotonic() - started >= 1.5  # it waited before it gave up
    with journal.claim(batch, 5):  # the kernel dropped the dead holder's claim
        pass


def test_a_batch_folded_while_its_try_waited_for_the_claim_sends_nothing(tmp_path: Any) -> None:
    from airflow.sdk import ObjectStoragePath

    from aftercare.dispatch import journal, send

    batch = ObjectStoragePath(f"file://{tmp_path}/sms-0001.jsonl")
    journal.write_batch(batch, [batch_item(touchpoint_id="first_day:placement:1:1")])
    # nothing but the config is reached: a provider call would fail on this delivery
    delivery = SimpleNamespace(config=load_config())
    with ThreadPoolExecutor(1) as waiting:
        with held(batch):
            result = waiting.submit(send.send_batch, batch, delivery, dry_run=False)
            time.sleep(1)  # the try waits for the claim ...
            journal.seal(batch)  # ... while the run folds the batch
            assert not result.done()
        assert result.result(timeout=30) == Counter(already_folded=1)
    assert not journal.journal_path(batch).exists()


def test_names_are_data_never_template_code(duck: sa.Engine, provider_connections: Any) -> None:
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1, mobile_e164=None, first_name="{{ 7*7 }}{% for %}")
    placement(duck, 11, 1, start_date=D, job_title="<script>x</script>")
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    run_dispatch(duck, config)
    [email] = received(sandbox, "sendgrid")
    content = {c["type"]: c["value"] for c in email["content"]}
    assert "{{ 7*7 }}{% for %}" in content["text/plain"]
    assert "49" not in content["text/plain"].split("{{ 7*7 }}")[0][-5:]
    assert "{{ 7*7 }}{% for %}" in content["text/html"]
    assert "<script>" not in content["text/html"]


def test_dry_run_sends_nothing_and_leaves_the_ledger(
    duck: sa.Engine, provider_connections: Any, preferences_service: Any
) -> None:
    sandbox, config = provider_connections, load_config()
    expected = day_of_every_channel(duck, sandbox)
    plan.plan(duck, config, D)
    before = ledger(duck)
    set_clock(sandbox, "2026-11-23T12:00:00Z")
    counts = run_dispatch(duck, config, dry_run=True)
    assert sum(v for k, v in counts.items() if k.startswith("would_send_")) == len(expected)
    assert ledger(duck) == before
    for service in ("twilio", "sendgrid", "trustpilot"):
        assert received(sandbox, service) == []
    assert video_pages(preferences_service) == []
    # the real run then sends them all
    run_dispatch(duck, config)
    assert {s for s, *_ in ledger(duck).values()} == {"sent"}


def test_logs_carry_no_personal_data(
    duck: sa.Engine,
    provider_connections: Any,
    preferences_service: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox, config = provider_connections, load_config()
    day_of_every_channel(duck, sandbox)
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T12:00:00Z")
    faults(sandbox, "twilio", share_429=0.5)
    with caplog.at_level("DEBUG"):
        run_dispatch(duck, config)
    text = caplog.text
    assert "batch" in text  # the logs were captured
    for secret in ("c@example.com", MOBILE, MOBILE[3:], "Ann", "Cand1"):
        assert secret not in text


@pytest.mark.e2e
def test_the_dag_sends_every_channel_once(
    airflow_db: None,
    duck: sa.Engine,
    provider_connections: Any,
    preferences_service: Any,
    capfd: pytest.CaptureFixture,
) -> None:
    """aftercare_dispatch through dag.test(): mapped send tasks per channel, the record task."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import DagRunState

    sandbox, config = provider_connections, load_config()
    expected = day_of_every_channel(duck, sandbox)
    plan.plan(duck, config, D)
    duck.dispose()  # the DAG's tasks open the DuckDB file themselves
    set_clock(sandbox, "2026-11-23T12:00:00Z")
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["aftercare_dispatch"]

    run = dag.test()
    assert run.state == DagRunState.SUCCESS
    instances = run.get_task_instances()
    mapped = Counter(ti.task_id for ti in instances if ti.map_index >= 0)
    assert mapped == {"send_email": 1, "send_sms": 1, "send_video": 1, "send_phone": 1}
    assert {k: v[0] for k, v in ledger(duck).items()} == dict.fromkeys(expected, "sent")
    assert set(sent_by_touchpoint(sandbox).values()) == {1}
    assert len(sent_by_touchpoint(sandbox)) == sum(
        1 for _, service in expected.values() if service in ("sendgrid", "twilio")
    )

    # the task logs name ids and counts, never the people
    logs = capfd.readouterr()
    assert "send_email" in logs.out + logs.err
    for personal in ("c@example.com", MOBILE, MOBILE[3:], "Ann", "Cand1"):
        assert personal not in logs.out + logs.err

    # the next run finds nothing due: its send tasks map over nothing
    run = dag.test()
    assert run.state == DagRunState.SUCCESS
    assert not [ti for ti in run.get_task_instances() if ti.map_index >= 0]
    assert set(sent_by_touchpoint(sandbox).values()) == {1}


def test_a_torn_journal_line_turns_an_outcome_back_into_a_look_up(tmp_path: Any) -> None:
    from airflow.sdk import ObjectStoragePath

    from aftercare.dispatch import journal

    path = ObjectStoragePath(f"file://{tmp_path}/email-0001.journal.jsonl")
    with journal.Journal(path) as writer:
        writer.attempt("a", {"route": "email", "links": {"video_link": "https://v/1"}})
        writer.outcome("a", "sent", provider_message_id="m1")
        writer.attempt("b", {"route": "sms"})
    with path.open("a") as out:  # killed mid-write: half of b's outcome
        out.write('{"touchpoint_id": "b", "kind": "outc')
    entries = journal.read_journal(path)
    assert entries["a"].outcome["provider_message_id"] == "m1" and not entries["a"].in_doubt
    assert entries["a"].attempt["links"] == {"video_link": "https://v/1"}
    assert entries["b"].in_doubt and entries["b"].outcome is None


@pytest.mark.parametrize(("due", "size"), [(1_000, 500), (100_000, 500), (1_000_000, 4_238)])
def test_batches_grow_so_a_run_maps_at_most_max_batches(due: int, size: int) -> None:
    config = load_config()
    assert config.dispatch.batch_size == 500 and config.dispatch.max_batches == 240
    assert batches._batch_size(config, due) == size
    # the worst split over four channels still fits
    per_channel = [due // 4 + (1 if i < due % 4 else 0) for i in range(4)]
    assert sum(-(-n // size) for n in per_channel) <= config.dispatch.max_batches


def test_an_invalid_number_fails_with_twilios_code(
    duck: sa.Engine, provider_connections: Any
) -> None:
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1, mobile_e164="+4479110")  # too short: Twilio refuses it (21211)
    placement(duck, 11, 1, start_date=D)
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    run_dispatch(duck, config)
    assert ledger(duck)["first_day:placement:11:1"][:2] == ("failed", "twilio_21211")
    with duck.connect() as conn:  # a refusal is no opt-out
        assert conn.execute(sa.text("select count(*) from aftercare.suppressions")).scalar() == 0
        # the row keeps the batch that tried it (the ops console links its send task's log)
        tried = conn.execute(
            sa.text(
                "select b.channel, b.recorded_at is not null from aftercare.touchpoints as t"
                " join aftercare.dispatch_batches as b on b.batch_id = t.batch_id"
            )
        ).all()
    assert tried == [("sms", True)]


def test_smtp_transport_sends_text_and_html(
    duck: sa.Engine, provider_connections: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = provider_connections
    config = load_config()
    dispatch_settings = config.dispatch.model_copy(update={"email_transport": "smtp"})
    config = config.model_copy(update={"dispatch": dispatch_settings})
    monkeypatch.setattr(dispatch, "load_config", lambda: config)
    candidate(duck, 1, mobile_e164=None)
    placement(duck, 11, 1, start_date=D)
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    run_dispatch(duck, config)
    assert ledger(duck)["first_day:placement:11:1"][:2] == ("sent", None)
    [message] = received(sandbox, "smtp")
    assert message["rcpt_tos"] == ["c@example.com"]
    assert message["headers"]["X-Aftercare-Touchpoint"] == "first_day:placement:11:1"
    assert "Cand1" in message["text"] and "Cand1" in message["html"]
    assert received(sandbox, "sendgrid") == []
    row = ledger_rows(duck)["first_day:placement:11:1"]
    assert (row["status"], row["provider_message_id"]) == ("sent", message["message_id"])


def test_an_unconfirmed_send_is_looked_up_by_the_next_run_not_resent(
    duck: sa.Engine, provider_connections: Any
) -> None:
    """The answer is lost and the look-up right after fails too: the touchpoint stays in doubt
    (with what was tried), and the next run finds the message instead of sending it again."""
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1)
    placement(duck, 11, 1, start_date=D)
    plan.plan(duck, config, D)
    faults(sandbox, "twilio", hang_seconds=4)
    # the send is taken but not answered in time; each try of the look-up gets a 500
    force(sandbox, "twilio", "timeout_after_accept", *["500"] * config.dispatch.max_attempts)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    run_dispatch(duck, config)
    row = ledger_rows(duck)["first_day:placement:11:1"]
    assert (row["status"], row["in_doubt"]) == ("planned", True)
    attempt = row["attempt"] if isinstance(row["attempt"], dict) else json.loads(row["attempt"])
    assert (attempt["route"], attempt["to"]) == ("sms", MOBILE)
    # a nightly plan meanwhile leaves the row alone, even with the placement ended
    placement(duck, 11, 1, start_date=D, status="Terminated", is_active=False)
    plan.plan(duck, config, D)
    assert ledger(duck)["first_day:placement:11:1"][0] == "planned"

    set_clock(sandbox, "2026-11-23T09:15:00Z")
    counts = run_dispatch(duck, config)
    assert counts["reconciled"] == 1 and counts["sent"] == 0
    [message] = received(sandbox, "twilio")
    row = ledger_rows(duck)["first_day:placement:11:1"]
    assert (row["status"], row["provider_message_id"], row["in_doubt"]) == (
        "sent",
        message["sid"],
        False,
    )


def test_a_send_task_cleared_after_its_batch_was_folded_sends_nothing(
    duck: sa.Engine, provider_connections: Any
) -> None:
    sandbox, config = provider_connections, load_config()
    candidate(duck, 1)
    placement(duck, 11, 1, start_date=D)
    plan.plan(duck, config, D)
    set_clock(sandbox, "2026-11-23T09:00:00Z")
    prepared, _ = batches.prepare(
        duck, config, clock().now(), staging_path, run_id="r1", try_number=1, dry_run=False
    )
    [batch] = prepared["sms"]
    # the send task never ran (it failed for good): its batch is folded
    batches.fold(duck, config, staging_path)
    assert Counter(dispatch.send_batch(**batch)) == {"already_folded": 1}
    assert received(sandbox, "twilio") == []
    # the touchpoint is the next run's to send, once
    run_dispatch(duck, config)
    assert len(received(sandbox, "twilio")) == 1
    assert ledger(duck)["first_day:placement:11:1"][0] == "sent"


def test_call_tasks_keep_to_their_share_of_the_ats_rate(provider_connections: Any) -> None:
    from aftercare.providers.factory import Providers

    config = load_config()
    assert config.dispatch.providers["ats"].messages_per_second == 25
    assert config.airflow.pools["aftercare_send_phone"].slots == 2
    # 25 a second shared by 2 send tasks: 750 calls a minute each
    assert Providers(config, "phone", get_connection).ats._settings.rate_limit_per_minute == 750
    # never above the ATS's own limit
    capped = config.model_copy(
        update={"ats": config.ats.model_copy(update={"rate_limit_per_minute": 100})}
    )
    assert Providers(capped, "phone", get_connection).ats._settings.rate_limit_per_minute == 100
