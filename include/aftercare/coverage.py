"""Rule coverage: which decisions of the planning contract (`aftercare.plan.DECISIONS`) a range
of nights reached, and how often; what the ledger holds for those nights by status and reason;
and, for a sandbox world with planted cases (the ``edges`` scenario), whether each case ended as
it should. Ids and counts only.

    python -m aftercare.coverage [--first-day D] [--last-day D] [--cases FILE]

The decisions come from the nightly run summaries (``aftercare.run_summaries``, stage ``plan``);
without dates, every night summarised is counted. ``--cases`` takes the scenario's manifest
(``GET /sandbox/ats/scenario``, which ``make demo SCENARIO=edges`` saves next to its logs).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from aftercare import summary, warehouse
from aftercare.config import load_config
from aftercare.connections import warehouse_transaction
from aftercare.plan import DECISIONS, OUTSIDE_DECISIONS, decision_key

NIGHTLY = "aftercare_nightly"


def decisions(conn: Connection, first_day: date, last_day: date) -> Counter[str]:
    """The plan decisions of the nightly runs for ``first_day`` to ``last_day``, summed by
    their run-summary name (``touchpoints_<status>[_<reason>]``)."""
    counts: Counter[str] = Counter()
    for run in summary.recent_runs(conn, NIGHTLY, limit=100_000):
        if first_day <= run["run_date"] <= last_day:
            counts.update(run["counts"].get("plan", {}))
    return counts


def unreached(counts: Counter[str]) -> list[str]:
    """The decisions of the contract that ``counts`` never reached (those only an action outside
    the ATS brings about aside: `aftercare.plan.OUTSIDE_DECISIONS`)."""
    return [
        key
        for key in (decision_key(*d) for d in DECISIONS if d not in OUTSIDE_DECISIONS)
        if not counts.get(key)
    ]


def case_outcomes(
    conn: Connection, cases: list[dict[str, Any]], agency_zone: str
) -> list[dict[str, Any]]:
    """Each planted case with what the ledger says of its touchpoint (``status`` or
    ``status:reason``; ``none``: no row), its due date, when it was to go out and went out
    (``send_at_local``, ``sent_at_local``: the candidate's local time), and whether status and
    due date are as expected."""
    found = []
    for case in cases:
        rows = warehouse.query_file(
            conn, "record/touchpoint_state.sql", {"touchpoint_id": case["touchpoint_id"]}
        )
        row = rows[0] if rows else None
        actual = "none" if row is None else row["status"]
        if row is not None and row["reason"]:
            actual = f"{row['status']}:{row['reason']}"
        due = row["due_date"] if row else None
        local = {
            f"{key}_local": row[key]
            .astimezone(ZoneInfo(row["zone"] or agency_zone))
            .isoformat(timespec="minutes")
            for key in ("send_at", "sent_at")
            if row is not None and row[key] is not None
        }
        ok = actual == case["expect"] and (case["due_date"] is None or due == case["due_date"])
        found.append({**case, "actual": actual, "actual_due": due, **local, "ok": ok})
    return found


def report(
    conn: Connection, first_day: date, last_day: date, cases: list[dict[str, Any]] | None = None
) -> str:
    """The coverage report as text: decisions per status and reason (the contract's first, a
    zero marked), the ledger by status and reason, and the planted cases if any."""
    counts = decisions(conn, first_day, last_day)
    contract = [decision_key(*d) for d in DECISIONS]
    missing = unreached(counts)
    others = sorted(key for key in counts if key not in contract)
    width = max(len(key) for key in [*contract, *others])
    lines = [f"Plan decisions, nights {first_day} to {last_day} (aftercare.run_summaries):", ""]
    for key in [*contract, *others]:
        mark = "   <- not reached" if key in missing else ""
        lines.append(f"  {key:<{width}} {counts.get(key, 0):>9}{mark}")
    ledger = warehouse.query_file(
        conn, "record/ledger_by_reason.sql", {"first_day": first_day, "last_day": last_day}
    )
    lines += ["", "The ledger for those due dates by status and reason (aftercare.touchpoints):"]
    lines.append("")
    for row in ledger:
        label = row["status"] + (f" {row['reason']}" if row["reason"] else "")
        lines.append(f"  {label:<{width}} {row['touchpoints']:>9}")
    if cases:
        outcomes = case_outcomes(conn, cases, load_config().agency.time_zone)
        wrong = sum(not case["ok"] for case in outcomes)
        lines += ["", f"Planted cases: {len(outcomes) - wrong} of {len(outcomes)} as expected", ""]
        edge_width = max(len(case["edge"]) for case in outcomes)
        for case in outcomes:
            due = f" due {case['actual_due']}" if case["actual_due"] else ""
            sent = f" sent {case['sent_at_local']} local" if "sent_at_local" in case else ""
            verdict = "ok" if case["ok"] else f"EXPECTED {case['expect']} {case['due_date'] or ''}"
            lines.append(
                f"  {case['edge']:<{edge_width}} {case['touchpoint_id']:<38} "
                f"{case['actual']}{due}{sent}  {verdict}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m aftercare.coverage", description=__doc__)
    parser.add_argument("--first-day", type=date.fromisoformat, default=date.min)
    parser.add_argument("--last-day", type=date.fromisoformat, default=date.max)
    parser.add_argument("--cases", type=Path, help="a scenario manifest (JSON)")
    args = parser.parse_args(argv)
    cases = json.loads(args.cases.read_text())["cases"] if args.cases else None
    with warehouse_transaction() as conn:
        print(report(conn, args.first_day, args.last_day, cases))


if __name__ == "__main__":
    main()
