"""Onboarding a real ATS: what the first night would make of the agency's data, before it runs.

    python -m aftercare.ats doctor [--sample N]      (make ats-check)

Connects with the ``aftercare_ats`` connection and, writing nothing to the warehouse:

1. reads the ATS's meta for the fields we read: a field that does not exist there, and each
   picklist (placement status and employment type: its values, whether it is multi-value);
2. compares the picklists with the config and prints every value the config does not map,
   with a proposed config block (a guess from each value's name, marked for a human to check);
3. reads the ATS's country table (the ids addresses carry) and names the codes that are no
   country we know; checks that candidate search reads its Lucene date bounds as UTC, as the
   pull writes them;
4. pulls a sample (the first ``--sample`` placements in change order, 2,000 by default, and
   their candidates) through the same client, normaliser and quality gate as the nightly run,
   into a throw-away DuckDB warehouse, and prints what would be quarantined and what would be
   field findings, by reason, with counts and record ids (never names, emails or numbers).

Exits 1 when night 1 would trip the circuit breaker, a picklist value is unmapped, a field
is missing or search dates are read in another zone; else 0.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aftercare import extract, warehouse
from aftercare.ats.base import Ats, AtsError, Cursor, Entity, FieldMeta, Page
from aftercare.ats.normalise import country_codes
from aftercare.config import Config, load_config
from aftercare.quality import gate

#: Records of each entity the sample judges, unless told otherwise.
SAMPLE = 2000
#: Record ids shown per reason (the counts are complete).
_SHOWN_IDS = 10
#: A proposed employment class from words in a type's name, first match wins.
_CLASS_WORDS = (
    (re.compile(r"perm|direct|hire", re.I), "permanent"),
    (re.compile(r"temp|casual|locum|day", re.I), "temp"),
    (re.compile(r"contract|fixed|freelance|interim", re.I), "contract"),
)
#: A status that reads as a placement going on (or about to), not ended or refused.
_ACTIVE_WORDS = re.compile(r"placed|approv|hired|start|submit|confirm|active|current", re.I)
_ENDED_WORDS = re.compile(r"complet|finish|terminat|end|cancel|reject|declin|lost|fall", re.I)


class _Sampled:
    """The ATS with its placement feed cut after ``size`` records (whole pages), and in place
    of the candidate feed the candidates of those placements (fetched by id, in pages as the
    feed's), so every sampled placement's candidate is judged with it."""

    def __init__(self, ats: Ats, size: int, page_size: int) -> None:
        self._ats, self._size, self._page_size = ats, size, page_size
        self._candidate_ids: dict[int, None] = {}
        #: the candidates fetched for the sample
        self.candidates: list[dict[str, Any]] = []

    def changes(self, entity: Entity, after: Cursor) -> Iterator[Page]:
        if entity == "Candidate":
            yield from self._candidates()
            return
        taken = 0
        for page in self._ats.changes(entity, after):
            yield page
            for record in page.records:
                if (candidate := record.get("candidate") or {}).get("id") is not None:
                    self._candidate_ids[int(candidate["id"])] = None
            taken += len(page.records)
            if taken >= self._size:
                return

    def _candidates(self) -> Iterator[Page]:
        ids, size = list(self._candidate_ids), self._page_size
        found = self.candidates = [
            record
            for start in range(0, len(ids), size)
            for record in self._ats.records("Candidate", ids[start : start + size])
        ]
        for number, start in enumerate(range(0, len(found), size), start=1):
            records = found[start : start + size]
            yield Page("Candidate", number, records, json.dumps({"data": records}))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ats, name)


def proposed_class(employment_type: str) -> str:
    """Our employment class for an unmapped type, guessed from its name (temp if nothing
    matches: a human checks every proposal)."""
    return next((cls for words, cls in _CLASS_WORDS if words.search(employment_type)), "temp")


def proposed_active(status: str) -> bool:
    """Whether an unmapped status reads as a placement going on."""
    return bool(_ACTIVE_WORDS.search(status)) and not _ENDED_WORDS.search(status)


def picklists(config: Config, placement: dict[str, FieldMeta]) -> tuple[list[str], list[str]]:
    """The lines about the placement picklists, and the problems (unmapped values)."""
    lines, problems = ["Picklists (meta/Placement):"], []
    known = {
        "status": set(config.quality.placement_statuses),
        "employmentType": set(config.ats.employment_classes),
    }
    unmapped: dict[str, list[str]] = {}
    for name, mapped in known.items():
        meta = placement.get(name)
        if meta is None:
            continue
        missing = [value for value in meta.options if value not in mapped]
        shape = "multi-value (arrives as a list)" if meta.multi_value else "single value"
        lines.append(
            f"  {name}: {len(meta.options)} values, {shape}; "
            f"{len(missing)} not in the config" + (f": {', '.join(missing)}" if missing else "")
        )
        unmapped[name] = missing
        problems += [f"unmapped {name} {value!r}" for value in missing]
    if any(unmapped.values()):
        lines += ["", "Proposed config (check each proposal; # ? marks a guess):", ""]
        lines += _proposal(config, placement, unmapped)
    return lines, problems


def _proposal(
    config: Config, placement: dict[str, FieldMeta], unmapped: dict[str, list[str]]
) -> list[str]:
    statuses = placement["status"].options if "status" in placement else ()
    guessed = set(unmapped.get("status", ()))
    active = [
        status
        for status in statuses
        if status in config.ats.active_statuses or (status in guessed and proposed_active(status))
    ]
    # every label quoted (json strings are YAML strings): "50 - Direct Hire", "Hold: client"
    quoted = json.dumps
    lines = ["ats:", f"  active_statuses: [{', '.join(map(quoted, active))}]"]
    lines.append("  employment_classes:")
    for kind, cls in config.ats.employment_classes.items():
        lines.append(f"    {quoted(kind)}: {cls}")
    for kind in unmapped.get("employmentType", ()):
        lines.append(f"    {quoted(kind)}: {proposed_class(kind)}   # ?")
    lines += ["quality:", "  placement_statuses:"]
    for status in dict.fromkeys([*config.quality.placement_statuses, *statuses]):
        guess = "active" if status in active else "not active"
        lines.append(f"    - {quoted(status)}" + (f"   # ? {guess}" if status in guessed else ""))
    return lines


def countries(ats: Ats) -> list[str]:
    codes = ats.countries()
    regions = country_codes(codes)
    odd = sorted(f"{key} {code!r}" for key, code in codes.items() if key not in regions)
    lines = [f"Countries (the ATS's table): {len(codes)}, {len(regions)} of them countries we know"]
    if odd:
        lines.append(f"  read as no country: {', '.join(odd)}")
    return lines


def search_clock(ats: Ats, candidates: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Whether the ATS reads the candidate feed's Lucene date bounds as UTC, as we write them:
    searching from the second a sampled candidate last changed must start in that second (read
    as US Eastern, say, the bound would fall hours later and the pull would skip rows)."""
    if not candidates:
        return [], []
    latest = max(candidates, key=lambda record: (record["dateLastModified"], record["id"]))
    second = latest["dateLastModified"] // 1000
    feed = ats.changes("Candidate", Cursor(latest["dateLastModified"] - 1, -1))
    try:
        first = next(iter(feed)).records[0]
    except StopIteration:
        first = None
    finally:
        feed.close()
    if first is not None and first["dateLastModified"] // 1000 == second:
        return ["Candidate search reads its date bounds as UTC, as we write them"], []
    problem = (
        f"search/Candidate from the second candidate {latest['id']} last changed did not "
        "start in that second: the ATS reads Lucene dates in another zone, and the pull "
        "would skip rows"
    )
    return [problem], [problem]


def sample(config: Config, ats: Ats, size: int, workdir: Path) -> tuple[list[str], list[str]]:
    """Pull, normalise and judge a sample in a throw-away DuckDB warehouse under ``workdir``;
    the lines about it and the problems (a tripped breaker)."""
    scratch = config.model_copy(
        update={"quality": config.quality.model_copy(update={"gx_project_dir": workdir / "gx"})}
    )
    engine = sa.create_engine(f"duckdb:///{workdir / 'sample.duckdb'}", hide_parameters=True)
    try:
        warehouse.migrate(engine)
        pulled: Counter[str] = Counter()
        sampled = _Sampled(ats, size, config.ats.page_size)
        for entity in ("Placement", "Candidate"):
            pulled.update(
                extract.pull(engine, sampled, scratch, entity, full=True, run_id="doctor")
            )
        clock, skewed = search_clock(ats, sampled.candidates)
        counts = gate.validate(
            engine, scratch, run_id="doctor", as_of=datetime.now(UTC), override=True
        )
        with warehouse.transaction(engine) as conn:
            found = warehouse.query_file(conn, "quality/sample_verdicts.sql")
    finally:
        engine.dispose()
    by_reason: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for row in found:
        what = row["what"]
        if row["verdict"] == "quarantined":  # its reasons: the columns of the failed rules
            what = ", ".join(sorted({reason["column"] for reason in json.loads(what)}))
        by_reason[(row["entity"], row["verdict"], what)].append(row["record_id"])
    lines = [*clock, f"Sample: {size} placements at most and their candidates:"]
    problems = list(skewed)
    limit = config.quality.max_quarantined_share
    for entity, table in (("placement", "placements"), ("candidate", "candidates")):
        judged = int(counts.get(f"{table}_validated", 0))
        quarantined = int(counts.get(f"{table}_quarantined", 0))
        share = quarantined / judged if judged else 0.0
        lines.append(
            f"  {entity}s: {judged} judged ({pulled[f'{table}_pulled']} pulled), {quarantined} "
            f"would be quarantined ({share:.1%}; the breaker trips above {limit:.0%})"
        )
        if share > limit and quarantined >= config.quality.breaker_min_rows:
            problems.append(f"night 1 would trip the breaker: {share:.1%} of {entity}s quarantined")
        for (of, verdict, what), ids in sorted(by_reason.items()):
            if of == entity:
                shown = ", ".join(ids[:_SHOWN_IDS]) + (", ..." if len(ids) > _SHOWN_IDS else "")
                lines.append(f"    {verdict} {what}: {len(ids)} (ids {shown})")
    return lines, problems


def doctor(config: Config, ats: Ats, size: int = SAMPLE) -> tuple[str, list[str]]:
    """The report, and its problems (none: the first night can run)."""
    lines, problems = [], []
    described: dict[str, dict[str, FieldMeta]] = {}
    for entity in ("Placement", "Candidate"):
        try:
            described[entity] = ats.fields(entity)
        except AtsError as exc:
            problems.append(f"{entity} fields: {exc}")
            lines.append(f"Fields of {entity}: the ATS refused them: {exc}")
        else:
            lines.append(f"Fields of {entity}: all {len(described[entity])} we read exist")
    found, unmapped = picklists(config, described.get("Placement", {}))
    lines += ["", *found, "", *countries(ats), ""]
    with tempfile.TemporaryDirectory(prefix="aftercare-doctor-") as workdir:
        found, tripped = sample(config, ats, size, Path(workdir))
    lines += found
    problems += unmapped + tripped
    verdict = (
        ["", "Problems:", *(f"  - {problem}" for problem in problems)]
        if problems
        else ["", "No problems: the first night can run."]
    )
    return "\n".join(lines + verdict), problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aftercare.ats", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("doctor", help="check the ATS against the config")
    check.add_argument(
        "--sample", type=int, default=SAMPLE, help="placements to judge (with their candidates)"
    )
    args = parser.parse_args(argv)
    from aftercare.connections import open_ats

    config = load_config()
    text, problems = doctor(config, open_ats(config), args.sample)
    print(text)
    return 1 if problems else 0
