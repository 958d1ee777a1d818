"""aftercare_engagement: what happened after each send, back into the warehouse; the marts and
the report rebuilt. Runbook: aftercare_engagement.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, TaskGroup, TriggerRule, dag

from aftercare.config import load_config
from aftercare.dagkit import LEDGER, MARTS_SECTION, default_args, warehouse_task

CONFIG = load_config()
AGENCY_TZ = CONFIG.agency.time_zone


@dag(
    dag_id="aftercare_engagement",
    # Every three hours, and whenever the ledger changes (the nightly plan, a dispatch run).
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("30 */3 * * *", timezone=AGENCY_TZ), assets=[LEDGER]
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz=AGENCY_TZ),
    catchup=False,
    # one at a time: each load moves its feed's watermark
    max_active_runs=1,
    default_args=default_args(CONFIG),
    tags=["aftercare", "engagement"],
    doc_md=str(Path(__file__).with_name("aftercare_engagement.md")),
)
def aftercare_engagement() -> None:
    from aftercare.tasks import engagement

    with TaskGroup("load", tooltip="provider feeds -> engagement.*, suppressions") as load:

        @warehouse_task
        def load_sms() -> dict[str, int]:
            """Twilio: delivery status of our texts, and the replies (STOP, YES/NO, ...)."""
            return engagement.load_sms()

        @warehouse_task
        def load_email() -> dict[str, int]:
            """SendGrid activity: delivered, bounced, opened, clicked, unsubscribed, spam."""
            return engagement.load_email()

        @warehouse_task
        def load_reviews() -> dict[str, int]:
            """Reviews carrying our touchpoint id as reference."""
            return engagement.load_reviews()

        @warehouse_task
        def load_ats() -> dict[str, int]:
            """The ATS: call tasks done, candidates referred by ours."""
            return engagement.load_ats()

        @warehouse_task
        def load_preferences() -> dict[str, int]:
            """The preferences service's opt-outs, referral clicks and video page events
            (before the ATS's referrals, which a click attributes)."""
            return engagement.load_preferences()

        sms = load_sms()
        # whatever became of the preferences feed (skipped with no service, or failed)
        load_preferences() >> load_ats.override(trigger_rule=TriggerRule.ALL_DONE)()
        for load_feed in (load_email, load_reviews):
            load_feed()

    @warehouse_task
    def follow_up() -> dict[str, int]:
        """Call tasks after negative replies, notes after availability answers and, when
        engagement.ats_notes is on, a note for each touchpoint sent (in the ATS)."""
        return engagement.follow_up()

    # beside dispatch and the nightly pulls on Postgres (the loads and follow_up hold the
    # whole warehouse: docs/running-at-scale.md)
    @warehouse_task(section=MARTS_SECTION)
    def rebuild_marts() -> dict[str, int]:
        """marts.* from the ledger and engagement.*, for analysts."""
        return engagement.rebuild_marts()

    @warehouse_task(section=MARTS_SECTION)
    def build_report(counts: dict[str, Any]) -> str:
        """The static HTML report (engagement.report_path)."""
        return engagement.build_report(counts)

    # the follow-ups answer text replies: they need the sms feed, not the others
    followed = follow_up()
    # a feed that failed (its provider down) leaves the others loaded: the marts still rebuild
    marts = rebuild_marts.override(trigger_rule=TriggerRule.ALL_DONE)()
    report = build_report.override(trigger_rule=TriggerRule.ALL_DONE)(
        counts={"marts": marts, "follow_up": followed}
    )
    sms >> followed
    [load, followed] >> marts >> report


aftercare_engagement()
