"""What happened after each send, read back from the providers into ``engagement.*``.

One function per feed. Each reads from its watermark (``engagement.watermarks``; the first
load reaches back ``engagement.first_load_days``), turns the provider's records into rows, and
stores them with the new watermark in one transaction. Every row is keyed by the provider's own
id (a Twilio sid and status, a hash of a SendGrid message id, event and time, a review id, an
ATS id, the preferences service's event key), so reading a stretch again (each feed re-reads a
little before its watermark) adds nothing twice; a late event simply lands on its next load.

Reading replies: `reading` classifies an inbound text by the config's keyword lists; the SQL
(``sql/engagement/insert_replies.sql``) makes it an opt-out, an availability answer or a reply.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from aftercare import warehouse
from aftercare.ats.base import Ats
from aftercare.config import Config, Keywords
from aftercare.dispatch import renders
from aftercare.providers.base import EmailActivity, ReviewProvider, SmsProvider
from aftercare.providers.preferences import PreferencesFeed

#: how far before its watermark a feed reads again (late and reordered events)
OVERLAP = timedelta(hours=1)
#: SendGrid's Email Activity answers at most this many messages a call
ACTIVITY_LIMIT = 1000
#: Email Activity event names -> ours (``processed`` and ``deferred`` are not outcomes)
EMAIL_EVENTS = {
    "delivered": "delivered",
    "bounced": "bounced",
    "opened": "opened",
    "clicked": "clicked",
    "unsubscribe": "unsubscribed",
    "spam_report": "spam_report",
}
SMS_OUTCOMES = ("delivered", "undelivered", "failed")
_TOUCHPOINT_IN_TASK = re.compile(r"aftercare touchpoint: (\S+)")


def reading(text: str, keywords: Keywords) -> str:
    """What an inbound text says: stop, start, answer_yes, answer_no, negative, positive or
    none. The first four match the whole text, the sentiments any word of it."""
    words = re.findall(r"[a-z']+", text.lower())
    whole = " ".join(words)
    for name in ("stop", "start", "answer_yes", "answer_no"):
        if whole in getattr(keywords, name):
            return name
    for name in ("negative", "positive"):
        if set(words) & set(getattr(keywords, name)):
            return name
    return "none"


def _cursor(conn: Connection, feed: str) -> str | None:
    rows = warehouse.query_file(conn, "engagement/watermark.sql", {"feed": feed})
    return rows[0]["cursor"] if rows else None


def _instant(cursor: str | None, now: datetime, config: Config) -> datetime:
    if cursor is None:
        return now - timedelta(days=config.engagement.first_load_days)
    return datetime.fromisoformat(cursor) - OVERLAP


def _store(
    engine: Engine,
    feed: str,
    cursor: str,
    *,
    events: Sequence[dict[str, Any]] = (),
    replies: Sequence[dict[str, Any]] = (),
    responses: Sequence[dict[str, Any]] = (),
    referrals: Sequence[dict[str, Any]] = (),
    window_days: int = 0,
    opt_outs: Sequence[dict[str, Any]] = (),
    clicks: Sequence[dict[str, Any]] = (),
) -> None:
    """Rows of one load and the feed's new cursor, in one transaction; then what they say
    about consent (suppressions) and conversions."""
    loaded = datetime.now(UTC)
    with warehouse.transaction(engine) as conn:
        if events:
            warehouse.execute_file(
                conn, "engagement/insert_events.sql", {"events": json.dumps(list(events))}
            )
        if replies:
            warehouse.execute_file(
                conn, "engagement/insert_replies.sql", {"replies": json.dumps(list(replies))}
            )
        if responses:
            warehouse.execute_file(
                conn, "engagement/insert_responses.sql", {"responses": json.dumps(list(responses))}
            )
        if referrals:
            warehouse.execute_file(
                conn,
                "engagement/insert_referrals.sql",
                {"referrals": json.dumps(list(referrals)), "window_days": window_days},
            )
        if opt_outs:
            rows = {"opt_outs": json.dumps(list(opt_outs))}
            warehouse.execute_file(conn, "engagement/insert_opt_outs.sql", rows)
            warehouse.execute_file(conn, "engagement/suppress_opt_outs.sql", rows)
        if clicks:
            warehouse.execute_file(
                conn, "engagement/insert_referral_clicks.sql", {"clicks": json.dumps(list(clicks))}
            )
        # events stored before dispatch recorded what it sent: their touchpoint, now known
        warehouse.execute_file(conn, "engagement/fill_touchpoints.sql")
        warehouse.execute_file(conn, "engagement/mark_conversions.sql")
        since = {"since": (loaded - OVERLAP).isoformat()}
        warehouse.execute_file(conn, "engagement/suppress_email.sql", since)
        if replies:  # the sms feed alone decides sms consent: its STOPs, then later STARTs
            warehouse.execute_file(conn, "engagement/suppress_sms.sql", since)
            starts = [r for r in replies if r["reading"] == "start"]
            if starts:
                warehouse.execute_file(
                    conn, "engagement/lift_sms_suppressions.sql", {"numbers": json.dumps(starts)}
                )
        warehouse.execute_file(
            conn, "engagement/set_watermark.sql", {"feed": feed, "cursor": cursor}
        )


def _utc(value: str) -> datetime:
    """An ISO 8601 or RFC 2822 timestamp, as UTC."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = parsedate_to_datetime(value)
    return moment.astimezone(UTC)


def load_sms(engine: Engine, config: Config, twilio: SmsProvider, now: datetime) -> Counter[str]:
    """Twilio: the delivery status of our messages and the replies to them."""
    with warehouse.transaction(engine) as conn:
        since = _instant(_cursor(conn, "sms"), now, config)
        # while dispatch has batches in flight, the ledger does not yet know every text that
        # went out: a reply now could be pinned on the one before. Replies wait for the next
        # load (the feed re-reads the last day), statuses do not (they find their touchpoint
        # by the provider's id once it is recorded).
        in_flight = bool(warehouse.query_file(conn, "dispatch/pending_batches.sql"))
    events, replies = [], []
    # DateSent filters by day: a day more than needed, the keys drop what was seen
    for message in twilio.messages({"DateSent>": (since - timedelta(days=1)).date().isoformat()}):
        if message.get("direction") == "inbound":
            replies.append(
                {
                    "response_id": message["sid"],
                    "from_number": message["from"],
                    "occurred_at": _utc(
                        message["date_sent"] or message["date_created"]
                    ).isoformat(),
                    "reading": reading(message.get("body") or "", config.engagement.keywords),
                }
            )
        elif message.get("status") in SMS_OUTCOMES:
            events.append(
                {
                    "event_id": f"{message['sid']}:{message['status']}",
                    "channel": "sms",
                    "provider_message_id": message["sid"],
                    "event": message["status"],
                    "event_at": _utc(message["date_updated"]).isoformat(),
                    "detail": {"error_code": message.get("error_code")},
                }
            )
    if in_flight:
        replies = []
    _store(engine, "sms", now.isoformat(), events=events, replies=replies)
    return Counter(sms_events=len(events), sms_replies=len(replies))


def load_email(
    engine: Engine, config: Config, sendgrid: EmailActivity, now: datetime
) -> Counter[str]:
    """SendGrid's Email Activity: each message changed since the watermark, with its events."""
    with warehouse.transaction(engine) as conn:
        since = _instant(_cursor(conn, "email"), now, config)
    events, responses = [], []
    for summary in _changed(sendgrid, since, now):
        message = sendgrid.message(summary["msg_id"])
        touchpoint_id = _unique_args(message).get("touchpoint_id")
        base_id = summary["msg_id"].split(".", 1)[0]
        for event in message.get("events") or []:
            ours = EMAIL_EVENTS.get(event.get("event_name"))
            if ours is None:
                continue
            at = _utc(event["processed"]).isoformat()
            event_id = hashlib.sha1(  # noqa: S324 - a key, not a secret
                f"{summary['msg_id']}|{event['event_name']}|{event['processed']}".encode()
            ).hexdigest()
            detail = {"bounce_type": event.get("bounce_type")} if ours == "bounced" else {}
            events.append(
                {
                    "event_id": f"sendgrid:{event_id}",
                    "touchpoint_id": touchpoint_id,
                    "channel": "email",
                    "provider_message_id": base_id,
                    "event": ours,
                    "event_at": at,
                    "detail": detail,
                }
            )
            if ours in ("unsubscribed", "spam_report") and touchpoint_id:
                responses.append(
                    {
                        "response_id": f"sendgrid:{event_id}",
                        "touchpoint_id": touchpoint_id,
                        "kind": "opt_out",
                        "occurred_at": at,
                        "detail": {"channel": "email", "keyword": ours},
                    }
                )
    _store(engine, "email", now.isoformat(), events=events, responses=responses)
    return Counter(email_events=len(events), email_opt_outs=len(responses))


def _unique_args(message: dict[str, Any]) -> dict[str, Any]:
    """The custom args of an Email Activity message: an object, or (as the published spec
    types it) a JSON string."""
    args = message.get("unique_args") or {}
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return {}
    return args if isinstance(args, dict) else {}


def _changed(sendgrid: EmailActivity, since: datetime, until: datetime) -> Iterable[dict[str, Any]]:
    """Messages with an event in [since, until], in windows small enough for the API."""
    found = sendgrid.changed(since, until)
    if len(found) < ACTIVITY_LIMIT or until - since < timedelta(seconds=2):
        return found
    middle = since + (until - since) / 2
    return [*_changed(sendgrid, since, middle), *_changed(sendgrid, middle, until)]


def load_reviews(
    engine: Engine, config: Config, reviews: ReviewProvider, now: datetime
) -> Counter[str]:
    """The review platform: reviews carrying one of our touchpoint ids as reference."""
    with warehouse.transaction(engine) as conn:
        since = _instant(_cursor(conn, "reviews"), now, config)
    responses = [
        {
            "response_id": f"review:{review['id']}",
            "touchpoint_id": review.get("referenceId"),
            "kind": "review",
            "occurred_at": _utc(review["createdAt"]).isoformat(),
            "detail": {"stars": review.get("stars"), "review_id": review["id"]},
        }
        for review in reviews.reviews(since)
        if review.get("referenceId")
    ]
    _store(engine, "reviews", now.isoformat(), responses=responses)
    return Counter(reviews=len(responses))


def load_ats(engine: Engine, config: Config, ats: Ats, now: datetime) -> Counter[str]:
    """The ATS: recruiter call tasks done, and candidates referred by ours."""
    with warehouse.transaction(engine) as conn:
        tasks_since = _instant(_cursor(conn, "ats_tasks"), now, config)
        referrals_since = _instant(_cursor(conn, "referrals"), now, config)
    events = []
    for page in ats.completed_tasks(int(tasks_since.timestamp() * 1000)):
        for task in page.records:
            found = _TOUCHPOINT_IN_TASK.search(task.get("description") or "")
            if not found:
                continue  # a task of someone else's
            done = task.get("dateCompleted") or task["dateLastModified"]
            events.append(
                {
                    "event_id": f"ats:task:{task['id']}:completed",
                    "touchpoint_id": found.group(1),
                    "channel": "phone",
                    "provider_message_id": str(task["id"]),
                    "event": "completed",
                    "event_at": datetime.fromtimestamp(done / 1000, UTC).isoformat(),
                    "detail": {},
                }
            )
    _store(engine, "ats_tasks", now.isoformat(), events=events)
    referrals = [
        {
            "referred_candidate_id": record["id"],
            "referrer_id": (record.get("referredByPerson") or {}).get("id"),
            "occurred_at": datetime.fromtimestamp(record["dateAdded"] / 1000, UTC).isoformat(),
        }
        for page in ats.referred_candidates(int(referrals_since.timestamp() * 1000))
        for record in page.records
        if (record.get("referredByPerson") or {}).get("id")
    ]
    _store(
        engine,
        "referrals",
        now.isoformat(),
        referrals=referrals,
        window_days=config.engagement.referral_window_days,
    )
    return Counter(call_tasks_done=len(events), referrals=len(referrals))


def _without_links(detail: dict[str, Any] | None) -> dict[str, Any]:
    """A video event's detail as engagement keeps it: a render's share link (a video
    personalised with the candidate's name) is kept in ``aftercare.video_renders`` only, which
    dispatch reads and erasure clears."""
    return {key: value for key, value in (detail or {}).items() if key != "share_url"}


def load_preferences(
    engine: Engine, config: Config, feed: PreferencesFeed, now: datetime
) -> Counter[str]:
    """The preferences service: opt-outs (into ``engagement.responses`` and
    ``aftercare.suppressions``), referral clicks and video events (page_opened, played,
    watched_25 ... watched_100, cta_clicked: ``engagement.delivery_events``, channel video), page by
    page after the feed's cursor (the service's event sequence), each page stored with its
    cursor in one transaction. Dispatch calls it too, before it batches, so an opt-out recorded
    before a dispatch run starts is honoured by that run."""
    with warehouse.transaction(engine) as conn:
        cursor = int(_cursor(conn, "preferences") or 0)
    counts: Counter[str] = Counter(opt_outs=0, referral_clicks=0, video_events=0)
    while True:
        events, last = feed.events(cursor, config.preferences.feed_page_size)
        if not events:
            return counts
        opt_outs = [
            {
                "response_id": f"preferences:{e['event_key']}",
                "candidate_id": e["candidate_id"],
                "channel": e["channel"],
                "touchpoint_id": e["touchpoint_id"],
                "source": e["source"],
                "occurred_at": e["occurred_at"],
            }
            for e in events
            if e["kind"] == "opt_out"
        ]
        clicks = [
            {
                "event_id": f"preferences:{e['event_key']}",
                "touchpoint_id": e["touchpoint_id"],
                "reference": e["reference"],
                "occurred_at": e["occurred_at"],
            }
            for e in events
            if e["kind"] == "referral_click" and e["touchpoint_id"]
        ]
        videos = [
            {
                "event_id": f"preferences:{e['event_key']}",
                "touchpoint_id": e["touchpoint_id"],
                "channel": "video",
                "provider_message_id": None,
                "event": e["event"],
                "event_at": e["occurred_at"],
                "detail": {"source": e["source"], **_without_links(e["detail"])},
            }
            for e in events
            if e["kind"] == "video"
        ]
        with warehouse.transaction(engine) as conn:  # idempotent: before the cursor moves
            if changed := renders.record_webhooks(conn, events):
                counts["video_renders"] += changed
        _store(engine, "preferences", str(last), events=videos, opt_outs=opt_outs, clicks=clicks)
        counts.update(opt_outs=len(opt_outs), referral_clicks=len(clicks), video_events=len(videos))
        cursor = last
