"""The Bullhorn client against the sandbox ATS: auth and renewal, faults, rate limits, paging."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests

from aftercare.ats import bullhorn
from aftercare.ats.base import ORIGIN, AtsDataError, AtsError, Cursor, RecruiterTask
from aftercare.ats.bullhorn import BullhornAts, BullhornCredentials
from aftercare.config import load_config
from sandbox import SandboxServer, SandboxSettings
from sandbox.ats.settings import AtsSandboxSettings

Factory = Callable[..., tuple[SandboxServer, BullhornAts]]


def credentials(url: str, settings: AtsSandboxSettings) -> BullhornCredentials:
    return BullhornCredentials(
        login_info_url=f"{url}/ats",
        api_user=settings.api_user,
        api_password=settings.api_password,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
    )


@pytest.fixture
def ats_world() -> Iterator[Factory]:
    """Start a sandbox with the given ATS settings; returns it and a client for it."""
    servers: list[SandboxServer] = []

    def start(client: dict | None = None, **ats: object) -> tuple[SandboxServer, BullhornAts]:
        ats_settings = AtsSandboxSettings(**{"placements": 300, **ats})
        server = SandboxServer(SandboxSettings(seed=3, ats=ats_settings)).start()
        servers.append(server)
        settings = load_config().ats.model_copy(update=client or {})
        return server, BullhornAts(credentials(server.url, ats_settings), settings)

    yield start
    for server in servers:
        server.stop()


def admin(server: SandboxServer, method: str, path: str, **kwargs: object) -> dict:
    response = requests.request(method, f"{server.url}/sandbox/ats/{path}", timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


def truth(server: SandboxServer, entity: str, *, stored: bool = False) -> list[dict]:
    """Every current record of the sandbox ATS, all fields, in id order (the ground truth):
    as served, or ``stored`` as the world keeps them (without the corporation's shapes)."""
    params = {"count": 10**7, "stored": str(stored).lower()}
    return admin(server, "GET", f"truth/{entity}", params=params)["data"]


def truth_ids(server: SandboxServer, entity: str) -> list[int]:
    return [record["id"] for record in truth(server, entity)]


def pulled_ids(client: BullhornAts, entity: str = "Placement", after: Cursor = ORIGIN) -> list[int]:
    return [record["id"] for page in client.changes(entity, after) for record in page.records]


def status_count(server: SandboxServer, status: int) -> int:
    return int(admin(server, "GET", "stats")["status"].get(str(status), 0))


def test_full_pull_returns_every_record_once_in_feed_order(ats_world: Factory) -> None:
    server, client = ats_world(client={"page_size": 50})

    pages = list(client.changes("Placement", ORIGIN))

    ids = [record["id"] for page in pages for record in page.records]
    assert sorted(ids) == sorted(truth_ids(server, "Placement"))
    assert len(ids) == len(set(ids))
    positions = [(r["dateLastModified"], r["id"]) for page in pages for r in page.records]
    assert positions == sorted(positions)
    assert [page.number for page in pages] == list(range(1, len(pages) + 1))


def test_candidates_come_through_search_in_feed_order(ats_world: Factory) -> None:
    """Candidate is search-only (the sandbox refuses query/Candidate, as Bullhorn's SDK never
    queries it): every candidate, in feed order; a row is read again only at a page's start,
    from the second the page before ended in (Lucene ranges are whole seconds)."""
    server, client = ats_world(client={"page_size": 50})
    with pytest.raises(AtsError, match="HTTP 400"):
        client._rest("GET", "query/Candidate", params={"where": "id>0", "fields": "id"})

    pages = list(client.changes("Candidate", ORIGIN))

    assert len(pages) > 3
    ids = {record["id"] for page in pages for record in page.records}
    assert ids == set(truth_ids(server, "Candidate"))
    positions = [(r["dateLastModified"], r["id"]) for page in pages for r in page.records]
    assert positions == sorted(positions)
    for before, page in zip(pages, pages[1:], strict=False):
        end = before.end
        again = [
            r
            for r in page.records
            if (r["dateLastModified"], r["id"]) <= (end.date_last_modified_ms, end.record_id)
        ]
        assert all(
            r["dateLastModified"] // 1000 == end.date_last_modified_ms // 1000 for r in again
        )


def test_a_mass_update_in_one_second_pages_through_search(ats_world: Factory) -> None:
    """More rows in one second than a page holds: the search feed moves on with ``start``."""
    server, client = ats_world(client={"page_size": 50})
    before = max(r["dateLastModified"] for r in truth(server, "Candidate"))
    touched = truth_ids(server, "Candidate")[:130]
    for candidate_id in touched:  # stamped a millisecond apart: two seconds at most
        admin(server, "PATCH", f"records/Candidate/{candidate_id}", json={"firstName": "Mass"})

    pages = list(client.changes("Candidate", Cursor(before, 10**9)))

    got = {r["id"]: r for page in pages for r in page.records}
    assert set(touched) <= set(got)
    # besides them, only rows of the cursor's second, read again (the range's whole second)
    others = [got[i] for i in set(got) - set(touched)]
    assert all(r["dateLastModified"] // 1000 == before // 1000 for r in others)
    assert len(pages) >= 3


def test_rows_of_a_mass_update_moving_while_paging_are_not_skipped(ats_world: Factory) -> None:
    """Rows of the second being paged that change between two pages (more of them than a page
    reads again) shift the rest forward: the feed notices the gap and reads the second again."""
    server, client = ats_world(client={"page_size": 50})
    before = max(r["dateLastModified"] for r in truth(server, "Candidate"))
    touched = truth_ids(server, "Candidate")[:130]
    for candidate_id in touched:
        admin(server, "PATCH", f"records/Candidate/{candidate_id}", json={"firstName": "Mass"})
    pages = []
    for page in client._search_feed("Candidate", Cursor(before, 10**9)):  # no prefetching
        pages.append(page)
        if page.number == 2:  # 20 rows read already change: they move to the end of the feed
            moved = [r["id"] for r in pages[0].records if r["id"] in touched][:20]
            for candidate_id in moved:
                admin(server, "PATCH", f"records/Candidate/{candidate_id}", json={"lastName": "M"})

    assert set(touched) <= {record["id"] for page in pages for record in page.records}


@pytest.mark.parametrize(("rows", "pages"), [(500, 1), (501, 2)])
def test_paging_at_the_page_size_boundary(ats_world: Factory, rows: int, pages: int) -> None:
    server, client = ats_world(placements=rows)

    got = list(client.changes("Placement", ORIGIN))

    assert [len(page.records) for page in got] == [500, rows - 500][:pages]
    assert len({r["id"] for page in got for r in page.records}) == rows


@pytest.mark.parametrize("entity", ["Placement", "Candidate"])
def test_rows_changing_while_paging_are_not_skipped(ats_world: Factory, entity: str) -> None:
    server, client = ats_world(client={"page_size": 50})
    expected = set(truth_ids(server, entity))
    change = {"Placement": ("status", "Approved"), "Candidate": ("firstName", "Changed")}[entity]
    seen: list[int] = []
    for page in client.changes(entity, ORIGIN):
        if page.number == 2:
            # one row already read and one not yet read change now: with offset paging the
            # rows behind them would shift and one would be skipped
            admin(server, "PATCH", f"records/{entity}/{page.records[0]['id']}", json=dict([change]))
            later = sorted(expected - set(seen) - {r["id"] for r in page.records})[0]
            admin(server, "PATCH", f"records/{entity}/{later}", json=dict([change]))
        seen += [record["id"] for record in page.records]

    assert set(seen) == expected


@pytest.mark.parametrize("entity", ["Placement", "Candidate"])
def test_incremental_pull_starts_after_the_cursor(ats_world: Factory, entity: str) -> None:
    server, client = ats_world(client={"page_size": 100})
    pages = list(client.changes(entity, ORIGIN))
    middle = pages[1].end
    rows = {r["id"]: r for page in pages for r in page.records}
    after = [
        r["id"]
        for r in sorted(rows.values(), key=lambda r: (r["dateLastModified"], r["id"]))
        if (r["dateLastModified"], r["id"]) > (middle.date_last_modified_ms, middle.record_id)
    ]

    later = pulled_ids(client, entity, after=middle)

    if entity == "Placement":
        assert later == after
    else:  # search reads from the cursor's second: rows of that second may come again
        assert [i for i in later if i in set(after)] == after
        again = [rows[i] for i in later if i not in set(after)]
        assert all(
            r["dateLastModified"] // 1000 == middle.date_last_modified_ms // 1000 for r in again
        )


def test_session_renewal_after_expiry_and_loss(ats_world: Factory) -> None:
    server, client = ats_world(rest_token_ttl_seconds=0.5, access_token_ttl_seconds=0.5)
    first = next(client.placement_ids())
    time.sleep(0.7)  # the BhRestToken and the access token have expired: 401, refresh, login
    assert next(client.placement_ids()) == first
    assert status_count(server, 401) >= 1
    calls = admin(server, "GET", "stats")["calls"]
    # renewed with the refresh token (a second token call), not by authorizing again
    assert (calls["POST oauth/authorize"], calls["POST oauth/token"]) == (1, 2)

    client._bh_rest_token = ""  # a lost session token: the sandbox answers 412, we log in again
    assert next(client.placement_ids()) == first
    assert status_count(server, 412) == 1


def test_wrong_credentials_are_a_clear_error(ats_world: Factory) -> None:
    server, client = ats_world()
    client._credentials = credentials(server.url, AtsSandboxSettings(api_password="wrong-password"))

    with pytest.raises(AtsError, match=r"authorize refused \(HTTP 401\)") as caught:
        next(client.placement_ids())
    assert "wrong-password" not in str(caught.value)


@pytest.mark.parametrize(
    "faults",
    [{"share_429": 0.3}, {"share_500": 0.3}, {"share_slow": 0.3, "slow_seconds": 1.0}],
    ids=["429", "500", "timeout"],
)
def test_transient_faults_are_retried(ats_world: Factory, faults: dict) -> None:
    server, client = ats_world(client={"page_size": 50, "timeout_seconds": 0.4, "max_attempts": 8})
    admin(server, "PUT", "faults", json=faults)

    assert sorted(pulled_ids(client)) == sorted(truth_ids(server, "Placement"))
    if "share_429" in faults:
        assert status_count(server, 429) > 0
    if "share_500" in faults:
        assert status_count(server, 500) > 0


def test_persistent_server_errors_give_up_with_a_clear_error(ats_world: Factory) -> None:
    server, client = ats_world(client={"max_attempts": 2})
    next(client.placement_ids())  # authenticate first
    admin(server, "PUT", "faults", json={"share_500": 1.0})

    with pytest.raises(AtsError, match=r"GET .*/query/Placement: HTTP 500 after 2 attempts"):
        next(client.placement_ids())


def test_truncated_page_names_entity_and_page(
    ats_world: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bullhorn, "_PREFETCH_PAGES", 1)  # at most two pages in flight
    server, client = ats_world(client={"page_size": 50})
    pages = client.changes("Candidate", ORIGIN)
    next(pages)
    next(pages)
    admin(server, "PUT", "faults", json={"share_truncated": 1.0})

    with pytest.raises(
        AtsDataError, match=r"ATS Candidate page \d: the response is not valid JSON"
    ) as caught:
        list(pages)
    # pages prefetched before the faults began are good; the first truncated one is named
    assert caught.value.entity == "Candidate" and 3 <= caught.value.page <= 5


def test_sandbox_rate_limit_answers_429_and_we_retry_then_give_up(ats_world: Factory) -> None:
    server, client = ats_world(rate_limit_per_minute=3, client={"max_attempts": 2})
    for _ in range(3):  # authentication calls are not rate limited
        next(client.placement_ids())

    started = time.monotonic()
    with pytest.raises(AtsError, match="HTTP 429 after 2 attempts"):
        next(client.placement_ids())
    assert time.monotonic() - started >= 0.9  # waited Retry-After (1 s) before the retry
    assert status_count(server, 429) == 2


def test_client_rate_limiter_holds_calls_back(ats_world: Factory) -> None:
    server, client = ats_world(client={"rate_limit_per_minute": 6, "max_attempts": 1})
    for _ in range(2):  # with the four authentication calls, six calls: the minute's budget
        next(client.placement_ids())
    done = threading.Event()

    def seventh_call() -> None:
        # the sandbox is gone by the time it goes out (one attempt: nothing logged late)
        with contextlib.suppress(AtsError):
            next(client.placement_ids())
            done.set()

    threading.Thread(target=seventh_call, daemon=True).start()

    assert not done.wait(1.5), "a seventh call went out within the minute"
    assert admin(server, "GET", "stats")["calls"]["GET query/Placement"] == 2


def test_recruiter_task_round_trip(ats_world: Factory) -> None:
    server, client = ats_world()
    record = truth(server, "Placement")[0]
    task = RecruiterTask(
        subject="6-week check-in call",
        description="aftercare touchpoint tp-check_in-42-1: ask how the first weeks went",
        candidate_id=record["candidate"]["id"],
        owner_id=record["owner"]["id"],
        placement_id=record["id"],
        due=datetime(2026, 11, 26, 10, tzinfo=UTC),
    )

    task_id = client.create_task(task)

    found = client.find_tasks("tp-check_in-42-1")
    assert [t["id"] for t in found] == [task_id]
    assert client.find_tasks("tp-check_in-42-2") == []


def test_referred_candidates(ats_world: Factory) -> None:
    server, client = ats_world()
    admin(server, "POST", "clock/advance", params={"days": 3})
    candidates = truth(server, "Candidate")
    referrers = {c["id"]: (c.get("referredByPerson") or {}) for c in candidates}
    expected = {cid for cid, by in referrers.items() if by.get("_subtype") == "Candidate"}

    found = [c for page in client.referred_candidates(0) for c in page.records]

    assert expected, "three days of the sandbox's clock should bring referrals"
    # a client's or a recruiter's referral is a Person reference too, never a candidate's
    assert any(by.get("_subtype") not in (None, "Candidate") for by in referrers.values())
    assert {c["id"] for c in found} == expected


def test_task_creation_is_not_retried_on_server_errors(ats_world: Factory) -> None:
    server, client = ats_world()
    next(client.placement_ids())  # authenticate first
    admin(server, "PUT", "faults", json={"share_500": 1.0})
    task = RecruiterTask(
        subject="call",
        description="tp-x",
        candidate_id=1,
        owner_id=1,
        due=datetime(2026, 11, 26, 10, tzinfo=UTC),
    )

    with pytest.raises(AtsError, match="HTTP 500"):
        client.create_task(task)
    assert admin(server, "GET", "stats")["calls"]["PUT entity/Task"] == 1


def test_wrongly_typed_fields_are_a_data_error(ats_world: Factory) -> None:
    server, client = ats_world()
    record = truth(server, "Placement")[0]

    with pytest.raises(
        AtsDataError, match="ATS Placement page 3: row 0 has a non-integer dateBegin"
    ):
        client._records(
            "Placement",
            3,
            {"data": [{**record, "dateBegin": "2026-01-01"}]},
            bullhorn._REQUIRED["Placement"],
        )
    with pytest.raises(AtsDataError, match="row 0 has a non-integer candidate.id"):
        client._records(
            "Placement",
            3,
            {"data": [{**record, "candidate": {"id": "7"}}]},
            bullhorn._REQUIRED["Placement"],
        )
