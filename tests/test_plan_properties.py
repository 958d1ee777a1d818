"""Property-based: the planning SQL against a small Python statement of the same rules, on
generated placements and candidates and plan days over a year (a fresh ledger each time, so
the statement needs no history: due dates, weekend moves, windows and the look-back, leap
days, the subject's conditions, channels and consent, and the daily cap by priority)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftercare import plan, warehouse
from aftercare.config import Config, Milestone, load_config
from tests.test_plan import candidate, ledger, placement

CONFIG = load_config()
ZONES = ["Europe/London", "America/New_York", "Pacific/Auckland", None]


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def occurrences(ms: Milestone, anchor: date, day: date) -> list[tuple[int, date]]:
    if ms.repeat == "once":
        return [(1, anchor + timedelta(days=ms.offset_days))]
    found = []
    for year in (day.year - 1, day.year):
        number = year if ms.occurrence == "calendar_year" else year - anchor.year
        if ms.occurrence == "years_since" and number < ms.first_occurrence:
            continue
        found.append((number, add_years(anchor, year - anchor.year) + timedelta(ms.offset_days)))
    return found


def channel_of(ms: Milestone, person: dict, owner: int | None) -> str | None:
    if person["is_anonymized"] or person["is_deleted"]:
        return None
    email = person["email"] is not None and not person["email_opt_out"]
    sms = person["mobile_e164"] is not None and person["sms_opt_in"]
    phone = (person["phone_e164"] or person["mobile_e164"]) is not None and owner is not None
    eligible = {"email": email, "sms": sms, "video": email or sms, "phone": phone}
    return next((channel for channel in ms.channels if eligible[channel]), None)


def ended(job: dict, due: date, config: Config) -> date:
    """The day a placement ended as of ``due`` (``due`` itself while it runs): its end date
    once passed; else, in a non-active status, the agency's date of its last change in the
    ATS."""
    if job["end_date"] is not None and job["end_date"] < due:
        return job["end_date"]
    if not job["is_active"]:
        return job["date_last_modified"].astimezone(ZoneInfo(config.agency.time_zone)).date()
    return due


def expected(
    config: Config, day: date, people: dict[int, dict], jobs: dict[int, dict]
) -> dict[str, tuple]:
    """The ledger planning ``day`` on a fresh ledger must write (the same shape as
    tests.test_plan.ledger)."""
    planning = config.planning
    decided: dict[str, list] = {}
    for name, ms in planning.milestones.items():
        if ms.subject == "placement":
            subjects = [
                (pid, job["candidate_id"], job[ms.anchor], job)
                for pid, job in jobs.items()
                if not ms.employment_classes or job["employment_class"] in ms.employment_classes
            ]
        else:
            subjects = [(None, cid, p["date_of_birth"], None) for cid, p in people.items()]
        for pid, cid, anchor, job in subjects:
            if anchor is None:
                continue
            for number, nominal in occurrences(ms, anchor, day):
                due = nominal
                if ms.weekdays_only and due.isoweekday() >= 6:
                    due += timedelta(days=8 - due.isoweekday())
                end = due + timedelta(days=ms.window_days)
                if ms.window_ends_by_anchor:
                    end = min(end, anchor)
                look_back = day - timedelta(days=planning.look_back_days)
                if not (due <= day and (end >= day or due >= look_back)):
                    continue
                if job is not None and not (
                    job["is_active"] and (job["end_date"] is None or job["end_date"] >= due)
                ):
                    continue
                if job is None and not any(
                    j["candidate_id"] == cid
                    and j["start_date"] <= due
                    and ended(j, due, config)
                    >= max(j["start_date"], due - timedelta(ms.recent_placement_days))
                    for j in jobs.values()
                ):
                    continue
                person = people[cid]
                channel = channel_of(ms, person, job and job["owner_id"])
                subject = f"placement:{pid}" if pid is not None else f"candidate:{cid}"
                verdict = None
                if person["is_anonymized"] or person["is_deleted"]:
                    verdict = ("suppressed", "candidate_removed")
                elif ms.no_next_placement_within_days is not None and any(
                    other != pid
                    and j["candidate_id"] == cid
                    and abs((j["start_date"] - anchor).days) <= ms.no_next_placement_within_days
                    for other, j in jobs.items()
                ):
                    verdict = ("cancelled", "next_placement")
                elif end < day:
                    verdict = ("expired", "missed_window")
                elif channel is None:
                    verdict = ("suppressed", "no_eligible_channel")
                decided[f"{name}:{subject}:{number}"] = [name, cid, due, end, channel, verdict]
    # a milestone that must not repeat within days: one per candidate, the earliest due
    seen: set[tuple[int, str]] = set()
    for _tid, row in sorted(decided.items(), key=lambda item: (item[1][2], item[0])):
        name, cid, _, _, _, verdict = row
        if verdict is None and planning.milestones[name].not_within_days:
            if (cid, name) in seen:
                row[5] = ("suppressed", "recently_sent")
            seen.add((cid, name))
    # the cap: per candidate, by priority, then due date, then id (weekday-only ones wait
    # for Monday on a weekend, outside the weekend day's cap)
    weekend = day.isoweekday() >= 6
    rank = {name: position for position, name in enumerate(planning.priority)}
    open_rows = sorted(
        (rank[row[0]], row[2], tid)
        for tid, row in decided.items()
        if row[5] is None
        and not planning.milestones[row[0]].cap_exempt
        and not (weekend and planning.milestones[row[0]].weekdays_only)
    )
    result = {}
    for tid, (name, cid, due, end, channel, verdict) in decided.items():
        ms = planning.milestones[name]
        zone = ZoneInfo(people[cid]["time_zone"] or config.agency.time_zone)
        send_day, deferred = day, False
        if verdict is None and any(t == tid for _, _, t in open_rows):
            position = [t for _, _, t in open_rows if decided[t][1] == cid].index(tid)
            if position >= planning.frequency_cap.per_day:
                send_day, deferred = day + timedelta(days=1), True
        if ms.weekdays_only and send_day.isoweekday() >= 6:
            send_day += timedelta(days=8 - send_day.isoweekday())
        if verdict is None and send_day > end:
            verdict = ("suppressed", "frequency_cap") if deferred else ("expired", "missed_window")
        if verdict is not None:
            # reasons about the subject carry no channel (docs/data-dictionary.md)
            about_subject = verdict in (
                ("suppressed", "candidate_removed"),
                ("cancelled", "next_placement"),
            )
            result[tid] = (verdict[0], verdict[1], None if about_subject else channel, due, None)
            continue
        send_at = datetime.combine(send_day, ms.send_time, tzinfo=zone).astimezone(UTC)
        result[tid] = ("planned", None, channel, due, send_at.strftime("%Y-%m-%d %H:%M"))
    return result


people_strategy = st.fixed_dictionaries(
    {
        "email": st.sampled_from([None, "p@example.com"]),
        "email_opt_out": st.booleans(),
        "mobile_e164": st.sampled_from([None, "+447700900123"]),
        "phone_e164": st.sampled_from([None, "+442079460000"]),
        "sms_opt_in": st.booleans(),
        "date_of_birth": st.one_of(st.none(), st.dates(date(1960, 1, 1), date(2005, 12, 31))),
        "time_zone": st.sampled_from(ZONES),
        "is_anonymized": st.sampled_from([False, False, False, True]),
        "is_deleted": st.just(False),
    }
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[date, dict[int, dict], dict[int, dict]]:
    day = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    people = {cid: draw(people_strategy) for cid in range(1, draw(st.integers(1, 3)) + 1)}
    jobs = {}
    for pid in range(10, 10 + draw(st.integers(1, 6))):
        # starts clustered around the plan day, so milestones fall due
        start = day - timedelta(
            days=draw(st.sampled_from([0, 1, 2, 35, 37, 56, 60, 90, 95]))
            + draw(st.sampled_from([0, 0, 365, 730, 366 * 2]))
        )
        ends = draw(st.sampled_from([None, 10, 14, 20, 400]))
        jobs[pid] = {
            "candidate_id": draw(st.sampled_from(sorted(people))),
            "owner_id": draw(st.sampled_from([None, 7])),
            "employment_class": draw(st.sampled_from(["permanent", "temp", "contract"])),
            "status": "Placed",
            "is_active": draw(st.sampled_from([True, True, True, False])),
            "start_date": start,
            "end_date": None if ends is None else day + timedelta(days=ends),
            "is_deleted": False,
            # the last change in the ATS (for an inactive one: when it ended), before or after
            # its start, within the birthday's 730 days or not, either side of midnight
            "date_last_modified": datetime.combine(
                day - timedelta(days=draw(st.sampled_from([1, 40, 400, 800, 1200]))),
                draw(st.sampled_from([time(0, 30), time(12), time(23, 30)])),
                tzinfo=UTC,
            ),
        }
    return day, people, jobs


@pytest.mark.slow
@pytest.mark.parametrize("warehouse_engine", ["duckdb"], indirect=True)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_sql_plans_what_the_rules_say(
    warehouse_engine: sa.Engine, world: tuple[date, dict, dict]
) -> None:
    engine = warehouse_engine
    warehouse.migrate(engine)
    with engine.begin() as conn:
        tables = ("aftercare.touchpoints", "aftercare.plan_runs", "staging.placements")
        for table in (*tables, "staging.candidates"):
            conn.execute(sa.text(f"delete from {table}"))  # noqa: S608 - fixed names
    day, people, jobs = world
    for cid, person in people.items():
        candidate(engine, cid, **person)
    for pid, job in jobs.items():
        placement(engine, pid, **job)

    plan.plan(engine, CONFIG, day)

    assert ledger(engine) == expected(CONFIG, day, people, jobs)


# ------------------------------------------------------------------------------------------
# deciding only what changed since the last night writes the ledger deciding everything would


def job_changes(jobs: dict[int, dict], people: dict[int, dict]) -> st.SearchStrategy:
    """A change the ATS (through extract) makes to a placement, or a new placement."""
    shifts = st.sampled_from([-30, -7, -2, -1, 1, 2, 7, 30])
    return st.one_of(
        st.tuples(st.just("start"), st.sampled_from(sorted(jobs)), shifts),
        st.tuples(st.just("end"), st.sampled_from(sorted(jobs)), st.sampled_from([None, 0, 3, 20])),
        st.tuples(st.just("inactive"), st.sampled_from(sorted(jobs)), st.just(None)),
        st.tuples(st.just("deleted"), st.sampled_from(sorted(jobs)), st.just(None)),
        st.tuples(
            st.just("class"),
            st.sampled_from(sorted(jobs)),
            st.sampled_from(["permanent", "temp", "contract"]),
        ),
        st.tuples(
            st.just("new"),
            st.sampled_from(sorted(people)),
            st.sampled_from([0, 1, 35, 56, 90, 365]),
        ),
        st.tuples(
            st.just("candidate"), st.sampled_from(sorted(jobs)), st.sampled_from(sorted(people))
        ),
    )


def births_near(day: date) -> st.SearchStrategy:
    """Dates of birth whose birthday falls on the day or in the weeks before it."""
    return st.builds(
        lambda back, age: add_years(day - timedelta(days=back), -age),
        st.sampled_from([0, 1, 3, 10, 20, 40]),
        st.integers(18, 60),
    )


#: changes of ours to a candidate (:c), by SQL: a suppression and its lifting (START), a
#: version of the record quarantined and released, a negative reply to what they were sent
OURS = {
    "suppress": "insert into aftercare.suppressions (candidate_id, channel, reason, source)"
    " values (:c, :value, 'opt_out', 'test') on conflict do nothing",
    "lift": "delete from aftercare.suppressions where candidate_id = :c",
    "quarantine": "insert into quality.quarantine (entity, record_id, load_id, reasons)"
    " values ('candidate', cast(:c as varchar), :load, '[\"test\"]') on conflict do nothing",
    "release": "update quality.quarantine set released_at = current_timestamp"
    " where record_id = cast(:c as varchar) and released_at is null",
    "negative_reply": "insert into engagement.responses"
    " (response_id, candidate_id, kind, occurred_at, touchpoint_id, detail)"
    " select 'reply:' || t.touchpoint_id, t.candidate_id, 'reply', current_timestamp,"
    ' t.touchpoint_id, cast(\'{"sentiment": "negative"}\' as json)'
    " from aftercare.touchpoints as t where t.candidate_id = :c and t.status = 'sent'"
    " on conflict do nothing",
}


def person_changes(people: dict[int, dict], day: date) -> st.SearchStrategy:
    """A change to a candidate in the ATS, or one of ours (OURS)."""
    ids = st.sampled_from(sorted(people))
    return st.one_of(
        st.tuples(st.just("birth"), ids, births_near(day)),
        st.tuples(st.just("email_opt_out"), ids, st.booleans()),
        st.tuples(st.just("sms_opt_in"), ids, st.booleans()),
        st.tuples(st.just("anonymized"), ids, st.just(True)),
        st.tuples(st.just("zone"), ids, st.sampled_from(ZONES)),
        st.tuples(st.just("suppress"), ids, st.sampled_from(["email", "sms", "all"])),
        *(st.tuples(st.just(kind), ids, st.just(None)) for kind in OURS if kind != "suppress"),
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[date, dict, dict, list]:
    """A world, and nights after it: days on (0: the same night again), the changes made
    before that night, and whether dispatch sent what was due before it."""
    day, people, jobs = draw(worlds())
    for person in people.values():  # birthdays near the nights, so they fall due among them
        if draw(st.booleans()):
            person["date_of_birth"] = draw(births_near(day))
    nights = [
        (
            draw(st.sampled_from([0, 1, 1, 1, 2, 3, 9, 20])),
            draw(
                st.lists(
                    st.one_of(job_changes(jobs, people), person_changes(people, day)), max_size=3
                )
            ),
            draw(st.booleans()),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    return day, people, jobs, nights


def apply_change(
    engines: list[sa.Engine], change: tuple, night: date, people: dict, jobs: dict
) -> None:
    kind, key, value = change
    if kind in OURS:
        for engine in engines:
            with engine.begin() as conn:
                conn.execute(
                    sa.text(OURS[kind]), {"c": key, "value": value, "load": f"load-{night}"}
                )
        return
    if kind in ("birth", "email_opt_out", "sms_opt_in", "anonymized", "zone"):
        field = {"birth": "date_of_birth", "anonymized": "is_anonymized", "zone": "time_zone"}
        people[key][field.get(kind, kind)] = value
        for engine in engines:
            candidate(engine, key, **people[key])
        return
    if kind == "new":
        key, value = (
            max(jobs) + 1,
            {
                **next(iter(jobs.values())),
                "candidate_id": key,
                "start_date": night - timedelta(days=value),
                "end_date": None,
            },
        )
        jobs[key] = value
    else:
        job = jobs[key]
        if kind == "start":
            job["start_date"] += timedelta(days=value)
            if job["end_date"] is not None and job["end_date"] < job["start_date"]:
                job["end_date"] = job["start_date"]
        elif kind == "end":
            job["end_date"] = (
                None if value is None else max(night + timedelta(days=value), job["start_date"])
            )
        elif kind == "inactive":
            job["is_active"] = False
        elif kind == "deleted":
            job["is_deleted"] = True
        elif kind == "candidate":  # the ATS moved the placement to another candidate
            job["candidate_id"] = value
        else:
            job["employment_class"] = value
    for engine in engines:
        placement(engine, key, **jobs[key])


def full_ledger(engine: sa.Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select touchpoint_id, status, reason, channel, due_date, window_end, send_at,"
                " plan_date, sent_at from aftercare.touchpoints"
            )
        ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.slow
@pytest.mark.parametrize("warehouse_engine", ["duckdb"], indirect=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_deciding_what_changed_writes_what_deciding_everything_would(
    warehouse_engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory, history: tuple
) -> None:
    everything = sa.create_engine(f"duckdb:///{tmp_path_factory.mktemp('full')}/full.duckdb")
    engines = [warehouse_engine, everything]
    day, people, jobs, nights = history
    for engine in engines:
        warehouse.migrate(engine)
        with engine.begin() as conn:
            for table in (
                "aftercare.touchpoints",
                "aftercare.plan_runs",
                "engagement.responses",
                "aftercare.suppressions",
                "quality.quarantine",
                "staging.placements",
                "staging.candidates",
            ):
                conn.execute(sa.text(f"delete from {table}"))  # noqa: S608 - fixed names
        for cid, person in people.items():
            candidate(engine, cid, **person)
        for pid, job in jobs.items():
            placement(engine, pid, **job)

    night = day
    plan.plan(warehouse_engine, CONFIG, night)
    plan.plan(everything, CONFIG, night, everything=True)
    assert full_ledger(warehouse_engine) == full_ledger(everything)
    for days_on, changes, dispatched in nights:
        night += timedelta(days=days_on)
        for change in changes:
            apply_change(engines, change, night, people, jobs)
        if dispatched:  # what was due to go out before the night went out
            for engine in engines:
                with engine.begin() as conn:
                    conn.execute(
                        sa.text(
                            "update aftercare.touchpoints set status = 'sent', sent_at = send_at"
                            " where status = 'planned' and send_at < :night"
                        ),
                        {"night": datetime.combine(night, datetime.min.time(), tzinfo=UTC)},
                    )
        plan.plan(warehouse_engine, CONFIG, night)
        plan.plan(everything, CONFIG, night, everything=True)
        assert full_ledger(warehouse_engine) == full_ledger(everything), night
    everything.dispose()
