"""Purpose per milestone (`planning.milestones.<name>.purpose`): a candidate who stopped
marketing messages (a `marketing` suppression) gets the service milestones and no marketing
one (`suppressed` `marketing_opt_out`); one who stopped everything (`all`) gets neither; on
DuckDB and on Postgres."""

from __future__ import annotations

import pydantic
import pytest
import sqlalchemy as sa

from aftercare import plan
from aftercare.config import FrequencyCap, Milestone, load_config
from tests.test_plan import D, candidate, engine, only, placement, run, suppress

__all__ = ["engine"]  # the fixture, from the plan tests

DAY = "2026-03-04"  # a Wednesday: the review request (weekdays only) is due on it
ROOMY = {"frequency_cap": FrequencyCap(per_day=5, per_7_days=10)}


def test_the_shipped_config_marks_first_day_and_check_ins_service_and_the_rest_marketing() -> None:
    purposes = {name: m.purpose for name, m in load_config().planning.milestones.items()}
    assert {name for name, purpose in purposes.items() if purpose == "service"} == {
        "first_day",
        "check_in",
        "check_in_call",
    }
    assert len(purposes) > 3


def test_a_milestone_without_purpose_is_marketing_and_an_unknown_purpose_is_refused() -> None:
    fields = {"anchor": "start_date", "window_days": 0, "send_time": "10:00", "channels": ["sms"]}
    assert Milestone.model_validate(fields).purpose == "marketing"
    with pytest.raises(pydantic.ValidationError, match="purpose"):
        Milestone.model_validate({**fields, "purpose": "promotional"})


@pytest.mark.slow  # about 14 s on Postgres
def test_a_marketing_opt_out_stops_marketing_milestones_only_and_all_stops_both(
    engine: sa.Engine,
) -> None:
    config = only("first_day", "review_request", **ROOMY)
    # candidate 1 consents to everything, 2 stopped marketing, 3 stopped everything; 4 stops
    # marketing after the first night
    for who in (1, 2, 3, 4):
        candidate(engine, who)
        placement(engine, who * 10, who, start_date=D(DAY))  # first day today
        placement(engine, who * 10 + 1, who, start_date=D("2026-01-07"))  # review due today
    placement(engine, 42, 4, start_date=D("2026-03-05"))  # first day tomorrow
    suppress(engine, 2, "marketing")
    suppress(engine, 3, "all")

    decided = run(engine, config, DAY)

    def verdict(milestone: str, placement_id: int) -> tuple:
        return decided[f"{milestone}:placement:{placement_id}:1"][:2]

    assert verdict("first_day", 10) == ("planned", None)
    assert verdict("review_request", 11) == ("planned", None)
    assert verdict("first_day", 20) == ("planned", None)
    assert verdict("review_request", 21) == ("suppressed", "marketing_opt_out")
    assert verdict("first_day", 30) == ("suppressed", "no_eligible_channel")
    assert verdict("review_request", 31) == ("suppressed", "no_eligible_channel")
    assert verdict("review_request", 41) == ("planned", None)  # 14 days' window

    # a planned marketing touchpoint is decided again the night after the opt-out
    suppress(engine, 4, "marketing")
    decided = run(engine, config, "2026-03-05")

    assert verdict("review_request", 41) == ("suppressed", "marketing_opt_out")
    assert verdict("first_day", 42) == ("planned", None)
    assert verdict("review_request", 11) == ("planned", None)


def test_the_plan_digest_changes_when_a_milestone_changes_purpose() -> None:
    config = only("first_day", "review_request")
    milestones = dict(config.planning.milestones)
    milestones["review_request"] = milestones["review_request"].model_copy(
        update={"purpose": "service"}
    )
    changed = config.model_copy(
        update={"planning": config.planning.model_copy(update={"milestones": milestones})}
    )
    before = plan._params(config, D(DAY))["config_digest"]
    assert plan._params(changed, D(DAY))["config_digest"] != before
