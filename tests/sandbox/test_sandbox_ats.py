"""The sandbox ATS over real HTTP: Bullhorn's auth flow, sessions, rate limit and faults, the
query language, writes, the generator's determinism and realism, the clock, keyset paging."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import phonenumbers
import pytest
import requests

from sandbox import SandboxServer, SandboxSettings
from sandbox.ats import AtsSandboxSettings, generator
from sandbox.ats.countries import COUNTRY_ROWS
from sandbox.ats.generator import DAY_MS, epoch_ms

ATS = AtsSandboxSettings(placements=2000)
START = epoch_ms(ATS.clock_start)
LONDON = ZoneInfo("Europe/London")


def london_day(ms: int) -> date:
    """The London calendar day of an instant (a date-only field's day, however it is served)."""
    return datetime.fromtimestamp(ms / 1000, LONDON).date()


#: The world's own status and employment type of each of the corporation's labels.
STATUS_OF = {
    label: status for status, labels in ATS.corporation.status_labels.items() for label in labels
}
TYPE_OF = {
    label: kind
    for kind, labels in ATS.corporation.employment_type_labels.items()
    for label in labels
}


class Bullhorn:
    """Just enough of a Bullhorn client to drive the sandbox the way the real API is driven."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.settings = server.settings.ats
        self.oauth = f"{server.url}/ats/oauth"
        self.rest_url, self.token = self.login(self.tokens(code=self.code())["access_token"])

    def code(self, **overrides: str) -> str:
        params = {
            "client_id": self.settings.client_id,
            "response_type": "code",
            "action": "Login",
            "username": self.settings.api_user,
            "password": self.settings.api_password,
            **overrides,
        }
        response = requests.get(
            f"{self.oauth}/authorize", params=params, allow_redirects=False, timeout=5
        )
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]

    def token_response(self, **grant: str) -> requests.Response:
        grant.setdefault("grant_type", "authorization_code" if "code" in grant else "refresh_token")
        secret = {
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret,
        }
        return requests.post(f"{self.oauth}/token", data={**secret, **grant}, timeout=5)

    def tokens(self, **grant: str) -> dict[str, Any]:
        response = self.token_response(**grant)
        assert response.status_code == 200, response.text
        return response.json()

    def login(self, access_token: str) -> tuple[str, str]:
        response = requests.post(
            f"{self.server.url}/ats/rest-services/login",
            params={"version": "*"},
            data={"access_token": access_token},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return response.json()["restUrl"], response.json()["BhRestToken"]

    def get(self, path: str, **params: Any) -> requests.Response:
        headers = {"BhRestToken": self.token}
        return requests.get(f"{self.rest_url}{path}", params=params, headers=headers, timeout=30)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def put_task(self, body: dict[str, Any]) -> requests.Response:
        headers = {"BhRestToken": self.token}
        return requests.put(f"{self.rest_url}entity/Task", json=body, headers=headers, timeout=5)


def admin(server: SandboxServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{server.url}/sandbox/ats/{path}", timeout=30, **kwargs)


def truth(server: SandboxServer, entity: str) -> list[dict[str, Any]]:
    response = admin(server, "GET", f"truth/{entity}", params={"count": 10**7})
    assert response.status_code == 200
    return response.json()["data"]


def serve(seed: int = 42, **ats: Any) -> SandboxServer:
    settings = AtsSandboxSettings.model_validate({**ATS.model_dump(), **ats})
    return SandboxServer(SandboxSettings(seed=seed, ats=settings))


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox the read-only tests share (nobody changes its world or its faults)."""
    with serve(rate_limit_per_minute=100_000) as running:
        yield running


@pytest.fixture(scope="module")
def bh(server: SandboxServer) -> Bullhorn:
    return Bullhorn(server)


@pytest.fixture(scope="module")
def placements(server: SandboxServer) -> list[dict[str, Any]]:
    return truth(server, "Placement")


@pytest.fixture(scope="module")
def candidates(server: SandboxServer) -> list[dict[str, Any]]:
    return truth(server, "Candidate")


@pytest.fixture
def private() -> Iterator[SandboxServer]:
    """A sandbox of its own, for tests that change the world."""
    with serve(placements=600) as running:
        yield running


# ------------------------------------------------------------------------------------------------
# auth


def test_login_info_points_at_oauth_and_rest(server: SandboxServer) -> None:
    url = f"{server.url}/ats/rest-services/loginInfo"
    info = requests.get(url, params={"username": "aftercare.api"}, timeout=5).json()
    unknown = requests.get(url, params={"username": "someone.else"}, timeout=5)

    assert info["oauthUrl"] == f"{server.url}/ats/oauth"
    assert info["restUrl"] == f"{server.url}/ats/rest-services"
    assert unknown.status_code == 400 and "errorMessage" in unknown.json()


def test_authorize_redirects_with_code_and_state_and_refuses_strangers(bh: Bullhorn) -> None:
    params = {
        "client_id": "aftercare-sandbox",
        "response_type": "code",
        "action": "Login",
        "username": "aftercare.api",
        "password": "sandbox-password",
        "state": "s-1",
        "redirect_uri": "https://agency.example/cb?x=1",
    }

    def authorize(**changes: str) -> requests.Response:
        url = f"{bh.oauth}/authorize"
        return requests.get(url, params={**params, **changes}, allow_redirects=False, timeout=5)

    redirect, bad_client, bad_password = (
        authorize(),
        authorize(client_id="no"),
        authorize(password="x"),
    )

    location = urlsplit(redirect.headers["Location"])
    assert redirect.status_code == 302
    assert (location.netloc, location.path) == ("agency.example", "/cb")
    assert parse_qs(location.query)["state"] == ["s-1"] and parse_qs(location.query)["x"] == ["1"]
    assert (bad_client.status_code, bad_client.json()) == (400, {"error": "invalid_client"})
    assert (bad_password.status_code, bad_password.json()) == (401, {"error": "access_denied"})


def test_codes_are_single_use_and_refresh_tokens_rotate(bh: Bullhorn) -> None:
    code = bh.code()
    first = bh.tokens(code=code)
    reused = bh.token_response(code=code)
    second = bh.tokens(refresh_token=first["refresh_token"])
    stale = bh.token_response(refresh_token=first["refresh_token"])
    third = bh.tokens(refresh_token=second["refresh_token"])

    assert first["token_type"] == "Bearer" and first["expires_in"] == 600
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert second["refresh_token"] != first["refresh_token"]
    assert (stale.status_code, stale.json()["error"]) == (400, "invalid_grant")
    assert "error_description" in stale.json()
    rest_url, token = bh.login(third["access_token"])
    assert rest_url == f"{bh.server.url}/ats/rest-services/sbx1/"
    assert len({first["access_token"], second["access_token"], third["access_token"]}) == 3
    wrong_secret = requests.post(
        f"{bh.oauth}/token",
        data={"grant_type": "refresh_token", "refresh_token": third["refresh_token"]}
        | {"client_id": "aftercare-sandbox", "client_secret": "guess"},
        timeout=5,
    )
    assert wrong_secret.status_code == 400


def test_login_refuses_a_bad_access_token(server: SandboxServer) -> None:
    response = requests.get(
        f"{server.url}/ats/rest-services/login",
        params={"version": "*", "access_token": "x"},
        timeout=5,
    )

    assert response.status_code == 401
    assert response.json() == {"errorMessage": "Invalid or expired OAuth access token."}


def test_rest_token_in_header_query_or_cookie_else_412_or_401(bh: Bullhorn) -> None:
    url = f"{bh.rest_url}ping"
    by_header = requests.get(url, headers={"bhresttoken": bh.token}, timeout=5)
    by_query = requests.get(url, params={"BhRestToken": bh.token}, timeout=5)
    by_cookie = requests.get(url, cookies={"BhRestToken": bh.token}, timeout=5)
    missing = requests.get(url, timeout=5)
    unknown = requests.get(url, headers={"BhRestToken": "not-a-session"}, timeout=5)

    assert [r.status_code for r in (by_header, by_query, by_cookie)] == [200, 200, 200]
    expires = by_header.json()["sessionExpires"]
    assert 0 < expires - time.time() * 1000 <= 600_000
    assert missing.status_code == 412
    assert unknown.status_code == 401
    assert unknown.json() == {
        "errorMessage": "Bad 'BhRestToken' or timed-out.",
        "errorMessageKey": "errors.authentication.invalidRestToken",
        "errorCode": 401,
    }


def test_sessions_and_access_tokens_expire() -> None:
    with serve(placements=50, rest_token_ttl_seconds=0.4, access_token_ttl_seconds=0.4) as server:
        bh = Bullhorn(server)
        access = bh.tokens(code=bh.code())["access_token"]
        assert bh.get("ping").status_code == 200
        time.sleep(0.5)
        assert bh.get("ping").status_code == 401
        late_login = requests.post(
            f"{server.url}/ats/rest-services/login", data={"access_token": access}, timeout=5
        )
        assert late_login.status_code == 401


# ------------------------------------------------------------------------------------------------
# rate limit and faults


def test_rate_limit_answers_429_with_retry_after_1() -> None:
    with serve(placements=50, rate_limit_per_minute=5) as server:
        bh = Bullhorn(server)
        answers = [bh.get("ping") for _ in range(7)]

        assert [r.status_code for r in answers] == [200] * 5 + [429] * 2
        assert answers[-1].headers["Retry-After"] == "1"
        assert answers[-1].json() == {"errorMessage": "Too many requests", "errorCode": 429}
        assert admin(server, "GET", "stats").json()["status"]["429"] == 2


def test_faults_from_settings_and_from_the_admin_endpoint() -> None:
    with serve(placements=50, faults={"share_429": 1.0}) as server:
        bh = Bullhorn(server)
        throttled = bh.get("ping")
        assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0")

        assert admin(server, "PUT", "faults", json={"share_500": 1.0}).status_code == 200
        failed = bh.get("ping")
        assert failed.status_code == 500 and failed.json()["errorCode"] == 500

        admin(server, "PUT", "faults", json={"share_truncated": 1.0})
        cut = bh.get("query/Placement", where="id>0", fields="id,status", count=5)
        assert cut.status_code == 200
        with pytest.raises(requests.JSONDecodeError):
            cut.json()

        admin(server, "PUT", "faults", json={"share_slow": 1.0, "slow_seconds": 0.6})
        started = time.monotonic()
        slow = threading.Thread(target=bh.get, args=("ping",))
        slow.start()
        time.sleep(0.1)
        health = requests.get(f"{server.url}/health", timeout=5)
        health_seconds = time.monotonic() - started
        slow.join()
        assert health.status_code == 200 and health_seconds < 0.5  # the server kept answering
        assert time.monotonic() - started >= 0.6

        assert (
            admin(server, "PUT", "faults", json={"share_500": 0.9, "share_429": 0.2}).status_code
            == 422
        )
        admin(server, "PUT", "faults", json={})
        assert bh.get("ping").status_code == 200


def test_fault_draws_replay_with_the_seed() -> None:
    def statuses(seed: int) -> list[int]:
        with serve(seed, placements=20, faults={"share_500": 0.3, "share_429": 0.2}) as server:
            bh = Bullhorn(server)
            return [bh.get("ping").status_code for _ in range(30)]

    first = statuses(1)
    assert first == statuses(1)
    assert first != statuses(2)
    assert {200, 429, 500} <= set(first)


# ------------------------------------------------------------------------------------------------
# query, search, entity


def test_query_envelope_default_count_and_cap(bh: Bullhorn) -> None:
    default = bh.ok("query/Placement", where="id>0", fields="id")
    capped = bh.ok("query/Placement", where="id>0", fields="id", count=501, start=3)

    assert set(default) == {"start", "count", "data"} and default["count"] == 20
    assert capped["start"] == 3 and capped["count"] == 500 and len(capped["data"]) == 500
    assert capped["messages"] == [{"detailMessage": "count capped at 500", "severity": "WARNING"}]
    assert "messages" not in bh.ok("query/Placement", where="id>0", fields="id", count=500)


def test_fields_nested_star_and_null_associations(
    bh: Bullhorn, placements: list[dict], candidates: list[dict]
) -> None:
    first = placements[0]
    nested = bh.ok(
        "query/Placement",
        where=f"id={first['id']}",
        fields="id,candidate(id,firstName),jobOrder(id,title,clientCorporation(id,name))",
    )["data"][0]
    defaults = bh.ok("query/Placement", where=f"id={first['id']}", fields="id,candidate,jobOrder")
    star = bh.ok("query/Placement", where=f"id={first['id']}", fields="*")["data"][0]
    unreferred = next(c for c in candidates if c["referredByPerson"] is None)
    person = bh.ok(
        "entity/Candidate/" + str(unreferred["id"]), fields="id,referredByPerson,address(countryID)"
    )

    assert nested == {
        "id": first["id"],
        "candidate": {"id": first["candidate"]["id"], "firstName": first["candidate"]["firstName"]},
        "jobOrder": first["jobOrder"],
    }
    assert set(defaults["data"][0]["candidate"]) == {"id", "firstName", "lastName"}
    assert set(defaults["data"][0]["jobOrder"]) == {"id", "title"}
    assert star == first
    assert person["data"]["referredByPerson"] is None
    assert person["data"]["address"] == {"countryID": unreferred["address"]["countryID"]}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("id,salary", "Invalid field 'salary'"),
        ("id,candidate(id,email)", "Invalid field 'candidate.email'"),
        ("id,status(id)", "Invalid field 'status'"),
        ("id,candidate(id", "Invalid fields"),
        ("", "Missing required parameter 'fields'"),
    ],
)
def test_bad_fields_are_400(bh: Bullhorn, fields: str, message: str) -> None:
    response = bh.get("query/Placement", where="id>0", fields=fields)

    assert response.status_code == 400
    assert message in response.json()["errorMessage"]


def ids(rows: list[dict]) -> list[int]:
    return [row["id"] for row in rows]


def searched(
    bh: Bullhorn, entity: str, query: str, sort: str = "id", size: int = 500
) -> list[dict]:
    """Every hit of a search (every field, without the score), page by page."""
    rows: list[dict] = []
    while True:
        page = bh.ok(
            f"search/{entity}", query=query, fields="*", sort=sort, start=len(rows), count=size
        )
        rows += [{k: v for k, v in hit.items() if k != "_score"} for hit in page["data"]]
        if page["count"] < size:
            return rows


def everything(bh: Bullhorn, entity: str, where: str, order: str = "id") -> list[dict]:
    rows: list[dict] = []
    while True:
        page = bh.ok(
            f"query/{entity}", where=where, fields="*", orderBy=order, start=len(rows), count=500
        )
        rows += page["data"]
        if page["count"] < 500:
            return rows


def test_where_matches_a_python_filter_of_the_truth(
    bh: Bullhorn, placements: list[dict], candidates: list[dict]
) -> None:
    some_owner = placements[7]["owner"]["lastName"]
    cases = {  # a filter sees the corporation's labels, as served
        "status='Hired' AND employmentType IN ('Temporary','Contract')": lambda p: (
            p["status"] == "Hired" and p["employmentType"] in (["Temporary"], ["Contract"])
        ),
        "dateEnd IS NULL OR NOT status <> 'Terminated'": lambda p: (
            p["dateEnd"] is None or p["status"] == "Terminated"
        ),
        f"NOT dateEnd > {START}": lambda p: p["dateEnd"] is not None and p["dateEnd"] <= START,
        f"owner.lastName = '{some_owner}' AND dateBegin >= {START - 365 * DAY_MS}": lambda p: (
            p["owner"]["lastName"] == some_owner and p["dateBegin"] >= START - 365 * DAY_MS
        ),
        "status NOT IN ('Placed', 'Approved', 'Finished')": lambda p: (
            p["status"] not in ("Placed", "Approved", "Finished")
        ),
    }
    for where, wanted in cases.items():
        assert ids(everything(bh, "Placement", where)) == [
            p["id"] for p in placements if wanted(p)
        ], where
    assert any(wanted(p) for p in placements for wanted in cases.values())
    referred = searched(bh, "Candidate", "referredByPerson.id:[* TO *] AND isAnonymized:false")
    assert ids(referred) == [
        c["id"] for c in candidates if c["referredByPerson"] and not c["isAnonymized"]
    ]
    assert referred, "the generator refers some candidates"


@pytest.mark.parametrize(
    "where",
    ["id >", "id = 'a", "(id > 1", "id > 1 AND", "id >> 1", "status IS 'Placed'", "id > 1 2", ""],
)
def test_where_syntax_errors_are_400(bh: Bullhorn, where: str) -> None:
    response = bh.get("query/Placement", where=where, fields="id")

    assert response.status_code == 400 and response.json()["errorMessage"]


@pytest.mark.parametrize(
    "where", ["salary > 1", "status > 5", "dateBegin = 'monday'", "candidate = 1"]
)
def test_where_on_unknown_fields_or_mistyped_values_is_400(bh: Bullhorn, where: str) -> None:
    assert (
        bh.get("query/Task", where=where.replace("status", "subject"), fields="id").status_code
        == 400
    )
    assert bh.get("query/Placement", where=where, fields="id").status_code == 400


def test_order_by_with_id_tie_break(bh: Bullhorn, placements: list[dict]) -> None:
    by_begin = bh.ok(
        "query/Placement", where="id>0", fields="id,dateBegin", orderBy="-dateBegin", count=500
    )
    by_name = bh.ok(
        "query/Placement",
        where="id>0",
        fields="id,employmentType",
        orderBy="employmentType,-id",
        count=300,
    )

    expected = sorted(placements, key=lambda p: (-p["dateBegin"], p["id"]))[:500]
    assert ids(by_begin["data"]) == ids(expected)
    expected = sorted(placements, key=lambda p: (p["employmentType"][0], -p["id"]))[:300]
    assert ids(by_name["data"]) == ids(expected)
    assert (
        bh.get("query/Placement", where="id>0", fields="id", orderBy="shoeSize").status_code == 400
    )


def test_search_lucene_subset(bh: Bullhorn, candidates: list[dict], placements: list[dict]) -> None:
    smith = bh.ok("search/Candidate", query="lastName:smi AND NOT isDeleted:true", count=500)
    phrase = bh.ok("search/Candidate", query='name:"saoirse s"', fields="id,name", sort="-id")
    since = START - 30 * DAY_MS
    day = datetime.fromtimestamp(since / 1000, UTC).strftime("%Y%m%d")
    ranged = bh.ok("search/Placement", query=f"dateBegin:[{day} TO *] OR (status:Terminated)")

    assert set(smith) == {"total", "start", "count", "data"}
    assert smith["data"] == [
        c["id"] for c in candidates if "smi" in c["lastName"].lower() and not c["isDeleted"]
    ]
    matching = [c for c in candidates if "saoirse s" in c["name"].lower()]
    assert phrase["total"] == len(matching) > 0
    assert (
        phrase["data"]
        == [{"id": c["id"], "name": c["name"], "_score": 1.0} for c in reversed(matching)][:20]
    )
    wanted = [p["id"] for p in placements if p["dateBegin"] >= since or p["status"] == "Terminated"]
    assert ranged["total"] == len(wanted) and ranged["data"] == wanted[:20]
    for broken in ("lastName:", "dateBegin:[1 TO", "lastName:smith AND", "lastName smith"):
        assert bh.get("search/Candidate", query=broken).status_code == 400, broken


def test_entity_one_several_and_missing(bh: Bullhorn, candidates: list[dict]) -> None:
    a, b = candidates[3]["id"], candidates[4]["id"]
    one = bh.ok(f"entity/Candidate/{a}", fields="id,email")
    several = bh.ok(f"entity/Candidate/{b},999999999,{a}", fields="id,email")

    assert one == {"data": {"id": a, "email": candidates[3]["email"]}}
    assert several == {"data": [{"id": b, "email": candidates[4]["email"]}, one["data"]]}
    missing = bh.get("entity/Candidate/999999999", fields="id")
    assert missing.status_code == 404 and "errorMessage" in missing.json()
    assert bh.get("entity/Candidate/12,x", fields="id").status_code == 400
    for path in ("entity/Salary/1", "query/Salary", "search/Salary"):
        unknown = bh.get(path, fields="id", where="id>0", query="id:1")
        assert (unknown.status_code, unknown.json()["errorMessage"]) == (
            400,
            "Invalid entity type 'Salary'",
        )


def test_put_task_validates_and_creates(private: SandboxServer) -> None:
    bh = Bullhorn(private)
    candidate = truth(private, "Candidate")[0]["id"]
    body = {
        "subject": "Four-week check-in",
        "type": "Follow-Up",
        "candidate": {"id": candidate},
        "dateBegin": START + DAY_MS,
        "priority": 2,
        "isCompleted": False,
    }
    created = bh.put_task(body)
    unknown = bh.put_task({**body, "colour": "red"})
    incomplete = bh.put_task({"type": "Follow-Up", "candidate": {"id": 1}, "dateAdded": 5})

    assert created.status_code == 200
    task_id = created.json()["changedEntityId"]
    assert created.json() == {
        "changedEntityType": "Task",
        "changedEntityId": task_id,
        "changeType": "INSERT",
        "data": {"id": task_id},
    }
    stored = bh.ok(
        f"entity/Task/{task_id}", fields="id,subject,description,candidate,owner,priority"
    )
    assert stored["data"] == {
        "id": task_id,
        "subject": "Four-week check-in",
        "description": "",
        "candidate": {"id": candidate},
        "owner": None,
        "priority": 2,
    }
    assert unknown.status_code == 400
    assert unknown.json()["messages"] == [
        {
            "detailMessage": "Invalid field 'colour'",
            "propertyName": "colour",
            "severity": "ERROR",
            "type": "UNKNOWN_PROPERTY",
        }
    ]
    problems = {m["propertyName"]: m["type"] for m in incomplete.json()["messages"]}
    assert problems == {
        "subject": "MISSING_REQUIRED_PROPERTY",
        "candidate": "INVALID_ASSOCIATION",
        "dateAdded": "READ_ONLY_PROPERTY",
    }
    bh.put_task({**body, "description": 'touchpoint "tp-42" due'})
    found = bh.ok("search/Task", query='description:"\\"tp-42\\""', fields="id,subject")
    assert found["total"] == 1


# ------------------------------------------------------------------------------------------------
# the generator


def test_same_seed_same_world_other_seed_other_world() -> None:
    def world(seed: int, days: int = 0) -> list[list[dict]]:
        with serve(seed, placements=300) as server:
            if days:
                admin(server, "POST", "clock/advance", params={"days": days})
            return [truth(server, "Placement"), truth(server, "Candidate")]

    assert world(5) == world(5)
    assert world(5) != world(6)
    assert world(5, days=3) == world(5, days=3)


def test_the_world_looks_like_an_agency(placements: list[dict], candidates: list[dict]) -> None:
    n = len(placements)
    kinds = Counter(TYPE_OF.get(p["employmentType"][0]) for p in placements)
    statuses = Counter(STATUS_OF.get(p["status"]) for p in placements)
    countries = Counter(c["address"]["countryID"] for c in candidates)
    per_candidate = Counter(p["candidate"]["id"] for p in placements)

    assert n == 2000 and 0.75 < len(candidates) / n < 0.85
    assert 0.5 < (kinds["Permanent"] + kinds["Direct Hire"]) / n < 0.7
    assert statuses.most_common(2)[0][0] in ("Placed", "Approved", "Completed")
    assert {"Submitted", "Completed", "Terminated"} <= set(statuses)
    assert countries[2359] > countries[1] > countries[2266] > 0 and countries[2249] > 0
    assert countries[2245] > 0 and countries[2306] > 0
    assert max(per_candidate.values()) >= 3
    permanent = [
        p for p in placements if TYPE_OF.get(p["employmentType"][0]) in ("Permanent", "Direct Hire")
    ]
    assert sum(p["dateEnd"] is None for p in permanent) / len(permanent) > 0.95
    assert all(
        p["dateLastModified"] < START and c["dateLastModified"] < START
        for p, c in zip(placements, candidates, strict=False)
    )
    assert 0.03 < sum(c["massMailOptOut"] for c in candidates) / len(candidates) < 0.08
    assert 0.6 < sum(c["smsOptIn"] for c in candidates) / len(candidates) < 0.8
    owners = {p["owner"]["id"] for p in placements}
    assert len(owners) == 25
    uk = [
        c
        for c in candidates
        if c["address"]["countryID"] == 2359 and c["mobile"] and not c["isAnonymized"]
    ]
    assert sum(c["mobile"].startswith(("077", "+44 77", "44 077")) for c in uk) / len(uk) > 0.9


def test_dirty_share_spreads_over_every_fault_kind(
    placements: list[dict], candidates: list[dict]
) -> None:
    known_ids = {c["id"] for c in candidates}
    people = Counter((c["firstName"], c["lastName"], c["email"]) for c in candidates if c["email"])
    faults = {
        "bad email": sum(bool(c["email"]) and "@" not in c["email"][:-1] for c in candidates),
        "bad phone": sum(
            c["mobile"] in ("12345", "call me", "n/a", "0770090012", "+44") for c in candidates
        ),
        "no birth date": sum(
            c["dateOfBirth"] is None and not c["isAnonymized"] for c in candidates
        ),
        "too young/old/future": sum(
            c["dateOfBirth"] is not None
            and not 14 * 365 * DAY_MS < START - c["dateOfBirth"] < 100 * 366 * DAY_MS
            for c in candidates
        ),
        "duplicates": sum(count - 1 for count in people.values()),
        "end before begin": sum(
            p["dateEnd"] is not None and p["dateEnd"] < p["dateBegin"] for p in placements
        ),
        "unknown candidate": sum(p["candidate"]["id"] not in known_ids for p in placements),
        "unknown status": sum(p["status"] not in STATUS_OF for p in placements),
        "unknown type": sum(p["employmentType"][0] not in TYPE_OF for p in placements),
    }

    assert all(count >= 5 for count in faults.values()), faults
    assert (
        0.015
        < (
            faults["end before begin"]
            + faults["unknown candidate"]
            + faults["unknown status"]
            + faults["unknown type"]
        )
        / len(placements)
        < 0.045
    )


def test_scale_smoke_with_50000_placements() -> None:
    """50,000 placements come up, and a keyset page deep in the set is quick."""
    started = time.monotonic()
    with serve(placements=50_000, rate_limit_per_minute=10**6) as server:
        bh = Bullhorn(server)
        middle = bh.ok(
            "query/Placement",
            where="id>0",
            fields="dateLastModified",
            orderBy="dateLastModified",
            start=25_000,
            count=1,
        )
        at = middle["data"][0]["dateLastModified"]
        page_started = time.monotonic()
        page = bh.ok(
            "query/Placement",
            where=f"dateLastModified>{at} OR (dateLastModified={at} AND id>0)",
            fields="id,candidate(id),dateLastModified",
            orderBy="dateLastModified,id",
            count=500,
        )
        page_seconds = time.monotonic() - page_started
    assert len(page["data"]) == 500 and page["data"][0]["dateLastModified"] >= at
    assert page_seconds < 0.5
    assert time.monotonic() - started < 5


# ------------------------------------------------------------------------------------------------
# the clock and admin edits


def test_clock_advance_changes_the_world_like_an_ats(private: SandboxServer) -> None:
    before = {e: {r["id"]: r for r in truth(private, e)} for e in ("Placement", "Candidate")}
    answer = admin(private, "POST", "clock/advance", params={"days": 2}).json()
    after = {e: {r["id"]: r for r in truth(private, e)} for e in ("Placement", "Candidate")}

    assert answer["now"] == START + 2 * DAY_MS == admin(private, "GET", "clock").json()["now"]
    changes = answer["changes"]
    assert changes["new_placements"] > 0 and changes["candidate_edits"] > 0
    assert set(changes) >= {
        "moved_starts",
        "terminations",
        "email_opt_outs",
        "sms_opt_outs",
        "referrals",
    }
    for entity in ("Placement", "Candidate"):
        changed = [r for r in after[entity].values() if r != before[entity].get(r["id"])]
        assert changed
        stamps = [r["dateLastModified"] for r in changed]
        assert all(START <= s < START + 2 * DAY_MS for s in stamps) and len(set(stamps)) == len(
            stamps
        )
        unchanged = [r for r in after[entity].values() if r["dateLastModified"] < START]
        assert all(before[entity][r["id"]] == r for r in unchanged)
    gone = set(before["Placement"]) - set(after["Placement"])
    assert len(gone) == changes.get("deleted_placements", 0)
    new = [c for c in after["Candidate"].values() if c["id"] not in before["Candidate"]]
    assert min(c["id"] for c in new) > max(before["Candidate"])
    referred = [c for c in new if c["referredByPerson"]]
    assert len(referred) == changes["referrals"]
    assert all(
        r["referredByPerson"]["id"] in before["Candidate"]
        for r in referred
        if r["referredByPerson"]["_subtype"] == "Candidate"
    )


def test_patch_bumps_last_modified_and_delete_is_hard(private: SandboxServer) -> None:
    placements = truth(private, "Placement")
    newest = max(p["dateLastModified"] for p in placements)
    target, doomed = placements[10]["id"], placements[11]["id"]

    patched = admin(
        private,
        "PATCH",
        f"records/Placement/{target}",
        json={"status": "Terminated", "dateEnd": START},
    )
    address = admin(
        private,
        "PATCH",
        f"records/Candidate/{truth(private, 'Candidate')[0]['id']}",
        json={"address": {"city": "Leeds"}, "smsOptIn": False},
    )
    deleted = admin(private, "DELETE", f"records/Placement/{doomed}")

    assert patched.status_code == 200
    record = patched.json()["data"]
    assert (record["status"], london_day(record["dateEnd"])) == ("Terminated", ATS.clock_start)
    assert record["dateLastModified"] > newest
    assert address.json()["data"]["address"]["city"] == "Leeds"
    assert address.json()["data"]["dateLastModified"] > record["dateLastModified"]
    assert deleted.status_code == 200
    assert doomed not in ids(truth(private, "Placement"))
    assert admin(private, "DELETE", f"records/Placement/{doomed}").status_code == 404
    assert (
        admin(private, "PATCH", f"records/Placement/{target}", json={"shoeSize": 9}).status_code
        == 400
    )
    assert (
        admin(
            private, "PATCH", f"records/Placement/{target}", json={"dateLastModified": 1}
        ).status_code
        == 400
    )
    assert (
        admin(private, "PATCH", "records/Placement/1", json={"status": "Placed"}).status_code == 404
    )
    stats = admin(private, "GET", "stats").json()
    assert stats == {"calls": {}, "status": {}}  # admin calls are not Bullhorn calls


def keyset_pull(bh: Bullhorn, entity: str, size: int, until: int | None = None) -> list[dict]:
    rows, at, last = [], -1, -1
    while True:
        where = f"dateLastModified>{at} OR (dateLastModified={at} AND id>{last})"
        if until is not None:
            where = f"({where}) AND dateLastModified<={until}"
        fields = "id,dateLastModified"
        page = bh.ok(
            f"query/{entity}", where=where, fields=fields, orderBy="dateLastModified,id", count=size
        )["data"]
        rows += page
        if len(page) < size:
            return rows
        at, last = page[-1]["dateLastModified"], page[-1]["id"]


def test_keyset_paging_returns_every_record_once(private: SandboxServer) -> None:
    admin(private, "POST", "clock/advance", params={"days": 1})
    bh = Bullhorn(private)
    everyone = {entity: truth(private, entity) for entity in ("Placement", "Candidate")}
    pulled = {  # candidates are search-only: paged by start, sorted by dateLastModified and id
        "Placement": keyset_pull(bh, "Placement", size=5),
        "Candidate": searched(bh, "Candidate", "id:[* TO *]", "dateLastModified,id", size=50),
    }
    for entity, rows in pulled.items():
        assert sorted(ids(rows)) == sorted(ids(everyone[entity]))
        assert len(set(ids(rows))) == len(rows)
        assert rows == sorted(rows, key=lambda r: (r["dateLastModified"], r["id"]))
    placements = truth(private, "Placement")
    ties = Counter(p["dateLastModified"] for p in placements)
    until, tied = ties.most_common(1)[0]
    assert tied > 5, "bulk updates make ties that span pages"
    up_to = keyset_pull(bh, "Placement", size=5, until=until)  # the upper bound is on a tie
    in_order = sorted(placements, key=lambda r: (r["dateLastModified"], r["id"]))
    assert ids(up_to) == [p["id"] for p in in_order if p["dateLastModified"] <= until]
    stats = admin(private, "GET", "stats").json()
    assert stats["calls"]["GET query/Placement"] > 80 and stats["status"]["200"] > 160


def test_clock_start_setting_moves_the_world() -> None:
    with serve(placements=100, clock_start=date(2027, 6, 1)) as server:
        newest = max(p["dateLastModified"] for p in truth(server, "Placement"))
        assert epoch_ms(date(2026, 12, 1)) < newest < epoch_ms(date(2027, 6, 1))


#: The phone region of each of Bullhorn's countries (its codes are ISO 3166's but for UK).
REGIONS = {country_id: code.replace("UK", "GB") for country_id, code, _ in COUNTRY_ROWS}


def read_carefully(number: str, region: str) -> phonenumbers.PhoneNumber:
    """A number read as a careful human reads it: a leading country code written without "+"
    (``44 077-14980001``) as a country code, anything else as a number of the person's own
    country."""
    if re.match(r"[1-9]\d{0,2} 0", number):
        return phonenumbers.parse(f"+{number}", None)
    return phonenumbers.parse(number, region)


def test_clean_phone_numbers_are_valid_in_their_country() -> None:
    """Only the dirty share may fail phone validation: every country's mobile and landline
    formats, and the numbers as agencies keep them, give numbers phonenumbers accepts
    (made-up area codes or ranges would not)."""
    draw = random.Random(1)  # noqa: S311 - sampling, not security
    for country in generator.COUNTRIES:
        region = REGIONS[country.country_id]
        mobiles = [draw.randrange(country.mobile_space) for _ in range(300)]
        landlines = [country.landline(draw.randrange(10**7)) for _ in range(300)]
        numbers = (
            [fmt(n) for fmt in country.mobile_formats for n in mobiles]
            + [generator.kept(country.mobile_formats[0](n), country) for n in mobiles]
            + landlines
            + [generator.kept(landline, country) for landline in landlines]
        )
        read = [read_carefully(number, region) for number in numbers]
        assert all(phonenumbers.is_valid_number(number) for number in read), region
        code = phonenumbers.country_code_for_region(region)
        assert {number.country_code for number in read} == {code}, region


def test_the_edges_scenario_plants_its_cases_and_only_its_script_changes_them() -> None:
    from sandbox.ats import scenario
    from sandbox.ats.world import World

    with pytest.raises(ValueError, match="edges scenario starts on 2026-02-27"):
        AtsSandboxSettings(scenario="edges")
    settings = AtsSandboxSettings(placements=3000, clock_start=scenario.FIRST_DAY, scenario="edges")
    world = World(settings, seed=4)
    planted = world.scenario
    assert len(planted.cases) == len({case.touchpoint_id for case in planted.cases}) > 25
    ids = {"Candidate": planted.candidate_ids, "Placement": planted.placement_ids}
    for case in planted.cases:  # every case's records are in the world, as planted
        assert case.candidate_id in ids["Candidate"]
        assert case.placement_id is None or case.placement_id in ids["Placement"]

    def stamps() -> dict[tuple[str, int], int]:
        found = {}
        for entity, wanted in ids.items():
            table = world.tables[entity]
            rows = table.positions(np.fromiter(wanted, dtype=np.int64))
            assert (rows >= 0).all()
            found |= {
                (entity, int(record_id)): int(stamp)
                for record_id, stamp in zip(
                    table.columns["id"][rows], table.columns["dateLastModified"][rows], strict=True
                )
            }
        return found

    before = stamps()
    changes = world.advance(scenario.NIGHTS)
    after = stamps()
    scripted = {
        (change.entity, change.record_id) for day in planted.script.values() for change in day
    }
    # the usual world changed thousands of its own records and none of the planted ones
    assert sum(changes.values()) - changes["scenario_changes"] > 100
    assert {key for key in before if before[key] != after[key]} == scripted
    assert changes["scenario_changes"] == sum(len(day) for day in planted.script.values())
    replies = set(planted.replies.values())
    assert {"negative", "positive", "none"} == replies
