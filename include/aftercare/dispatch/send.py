"""The send side of dispatch: one batch file through its channel's providers, exactly once.

Runs in a mapped send task and talks to providers only, never to the warehouse. For each
touchpoint of the batch, in a pool of the providers' ``concurrency`` threads under the
provider's rate limit:

1. skip it when the journal has its outcome (a retried task);
2. when it may have gone out already (the journal has an attempt without an outcome, or the
   ledger marks it in doubt), look it up at the provider first: found means sent;
3. hold it (no journal line, it stays planned) when the clock says it is not yet time, or the
   candidate's local time is inside the quiet hours, or its window has closed;
4. create its links (video page, review invitation) once, render the message, journal the
   attempt with its links, send, journal the outcome. A lost answer is looked up at once; if the
   provider cannot tell, the touchpoint stays in doubt for the next try.

Step 2 is `_settle` (what is in doubt), steps 3 and 4 `_send_new` (what is new).

Texts to one mobile number form a lane (`journal.lane`, never split between batches): they go
out one after another, those in doubt first, and once one is left in doubt the rest wait for the
next run. Twilio keeps nothing of ours with a message, so an sms is looked up by recipient and
body; two candidate records sharing a number may get the same text, and the look-up tells them
apart by excluding the texts already attributed to other touchpoints (the ledger's, as the
batch's ``known_sids``, and this batch's journal).

A try holds the batch's claim (`journal.claim`) from before it reads the journal until its
last call has returned, so two tries of one batch never send at once. Told to stop (SIGTERM,
which Airflow sends a task it no longer wants running; any error that ends the loop too), a try
makes no further provider call: what it had in flight is journaled as an attempt, and the next
try looks it up.

Outcomes: ``sent`` (with the provider's id), ``failed`` and ``suppressed`` (with a reason),
``transient`` (the provider was unavailable: planned again, an attempt counted) and
``in_doubt``. The record task folds the journal into the ledger.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aftercare.ats.base import AtsError, RecruiterTask
from aftercare.config import Config
from aftercare.dispatch import journal as journals
from aftercare.dispatch.clock import Clock
from aftercare.dispatch.journal import BatchItem
from aftercare.messages import (
    MessageContext,
    MessageError,
    Rendered,
    Templates,
    list_unsubscribe_headers,
    referral_link,
    unsubscribe_link,
)
from aftercare.providers.base import (
    Ambiguous,
    CannotTell,
    Email,
    ProviderError,
    Unavailable,
    VideoPage,
)

if TYPE_CHECKING:
    from upath import UPath

    from aftercare.providers.factory import Providers

log = logging.getLogger(__name__)

#: Twilio's error code for a recipient who answered STOP
TWILIO_OPTED_OUT = 21610
#: what a dry run prints in place of each link (nothing is created at the providers)
DRY_RUN_LINK = "https://example.invalid/dry-run"
#: the call to action of a milestone's video page: the link made for it (a review request's
#: invitation, a referral ask's signed referral link)
VIDEO_CTA = {"review_request": "review_link", "referral_ask": "referral_link"}
#: the provider client (`Providers` attribute) each route and each link needs
_CLIENTS = {
    "email": "email",
    "sms": "sms",
    "phone": "ats",
    "video_link": "video",
    "review_link": "reviews",
    "referral_link": "secret",
    "unsubscribe_link": "secret",
}


@dataclass(frozen=True)
class Outcome:
    outcome: str  # sent | failed | suppressed | transient | in_doubt
    reason: str | None = None
    provider_message_id: str | None = None


def _sendable(item: BatchItem, now: datetime, config: Config) -> str | None:
    """Why the touchpoint must wait (``None``: it may go out now)."""
    local = now.astimezone(ZoneInfo(item.zone))
    if datetime.fromisoformat(item.send_at) > now:
        return "not_yet"
    if local.date() > date.fromisoformat(item.window_end):
        return "window_closed"
    if config.planning.quiet(local.time()):
        return "quiet_hours"
    return None


class Delivery:
    """What a batch's channel needs: its providers, the templates and the link makers. In a
    dry run the links are placeholders and nothing is sent."""

    def __init__(
        self, config: Config, providers: Providers, templates: Templates, clock: Clock
    ) -> None:
        self.config, self.providers, self.templates = config, providers, templates
        # the clock is read once (it may be a service); the task's own elapsed time runs on it
        self._started, self._elapsed = clock.now(), time.monotonic()
        #: set when the try must stop: no provider call is made after it is set
        self.stop = threading.Event()

    def now(self) -> datetime:
        return self._started + timedelta(seconds=time.monotonic() - self._elapsed)

    def open(self, items: list[BatchItem]) -> None:
        """Open the provider clients the batch needs (see `Providers.open`)."""
        needed = {item.route for item in items} | {
            link for item in items for link in self.needs(item)
        }
        self.providers.open({_CLIENTS[name] for name in needed if name in _CLIENTS})

    # -- links and text ------------------------------------------------------------------------

    def needs(self, item: BatchItem) -> frozenset[str]:
        """The links the touchpoint's message prints, and the one its video page's call to
        action follows (`VIDEO_CTA`)."""
        links = self.templates.links(item.milestone, self.template_channel(item))
        cta = VIDEO_CTA.get(item.milestone)
        return links | {cta} if cta and "video_link" in links else links

    def make_links(self, item: BatchItem) -> dict[str, str]:
        """The links this touchpoint's message needs, created at their providers. The video
        page is a platform's made ahead (``item.video_url``), else our own, published now
        (idempotent: a retried try publishes the same page)."""
        needs = self.needs(item)
        messages = self.config.messages
        links: dict[str, str] = {}
        if "review_link" in needs:
            links["review_link"] = self.providers.reviews.invitation_link(
                item.touchpoint_id,
                item.email,
                item.first_name or "",
                messages.review_locale,
            )
        if "referral_link" in needs:
            links["referral_link"] = referral_link(
                str(messages.referral_link_base),
                self.providers.secret,
                item.candidate_id,
                item.touchpoint_id,
            )
        if "video_link" in needs:
            links["video_link"] = item.video_url or self.providers.video.publish(
                self._video_page(item, links)
            )
        if "unsubscribe_link" in needs:
            links["unsubscribe_link"] = unsubscribe_link(
                str(messages.unsubscribe_link_base),
                self.providers.secret,
                item.candidate_id,
                "sms" if item.route == "sms" else "email",
                item.touchpoint_id,
            )
        return links

    def _video_page(self, item: BatchItem, links: dict[str, str]) -> VideoPage:
        """What the touchpoint's page shows: the milestone's recording, the candidate, and the
        call to action (the review or referral link made for the message)."""
        video = self.config.dispatch.videos[item.milestone]
        cta = VIDEO_CTA.get(item.milestone)
        return VideoPage(
            touchpoint_id=item.touchpoint_id,
            candidate_id=item.candidate_id,
            milestone=item.milestone,
            first_name=item.first_name or "",
            job_title=item.job_title or "",
            company=item.client_name or "",
            recruiter_name=self.config.messages.sender_name,
            recording=video.recording,
            kind=video.kind,
            poster=video.poster,
            cta_kind=cta.removesuffix("_link") if cta else None,
            cta_url=links[cta] if cta else None,
        )

    @staticmethod
    def template_channel(item: BatchItem) -> str:
        return f"video_{item.route}" if item.channel == "video" else item.route

    def render(self, item: BatchItem, links: dict[str, str]) -> Rendered:
        messages = self.config.messages
        context = MessageContext(
            touchpoint_id=item.touchpoint_id,
            milestone=item.milestone,
            first_name=item.first_name or "",
            job_title=item.job_title or "",
            client=item.client_name or "",
            agency_name=self.config.agency.name,
            recruiter_name=messages.sender_name,
            recruiter_contact=messages.recruiter_contact,
            years=item.occurrence,
            video_poster=self.config.dispatch.videos[item.milestone].poster
            if item.channel == "video"
            else None,
            **links,
        )
        return self.templates.render(item.milestone, self.template_channel(item), context)

    # -- the provider calls --------------------------------------------------------------------

    def deliver(self, item: BatchItem, text: Rendered, links: dict[str, str]) -> Outcome:
        route = item.route
        try:
            if route == "email":
                email = self._email(item, text, links)
                return Outcome("sent", provider_message_id=self.providers.email.send(email))
            if route == "sms":
                return Outcome(
                    "sent", provider_message_id=self.providers.sms.send(item.mobile, text.text)
                )
            task_id = self.providers.ats.create_task(self._task(item, text))
            return Outcome("sent", provider_message_id=str(task_id))
        except ProviderError as exc:
            if route == "sms" and exc.code == TWILIO_OPTED_OUT:
                return Outcome("suppressed", "sms_opted_out")
            raise
        except AtsError as exc:
            if exc.status in (401, 403):  # our credentials: every task would fail
                raise
            if exc.status is not None and exc.status < 500:
                return Outcome("failed", f"ats_{exc.status}")
            return Outcome("in_doubt")  # a PUT with no answer, or a 5xx, may have gone through

    def find(
        self, item: BatchItem, attempt: dict[str, Any], taken: Iterable[str]
    ) -> Outcome | None:
        """The message of an earlier ``attempt`` if its provider has it, ``None`` if it never
        went out, ``in_doubt`` when the provider keeps no record to ask (SMTP). Asked of the
        route and recipient the attempt used, whatever the ledger says now; an sms is never one
        of the ``taken`` sids (other touchpoints' texts to the same number)."""
        route = attempt["route"]
        if route == "email":
            try:
                found = self.providers.email.find(item.touchpoint_id)
            except CannotTell:  # never resend what may have gone out: it stays in doubt
                return Outcome("in_doubt")
        elif route == "sms":
            since = datetime.fromisoformat(attempt["at"]) - timedelta(days=1)
            found = self.providers.sms.find(
                attempt["to"], attempt["body_sha256"], since, frozenset(taken)
            )
        else:
            tasks = self.providers.ats.find_tasks(item.touchpoint_id)
            found = str(tasks[0]["id"]) if tasks else None
        return Outcome("sent", provider_message_id=found) if found else None

    def attempt(self, item: BatchItem, links: dict[str, str], text: Rendered) -> dict:
        """What a try is about to send, journaled before it: enough to find it later."""
        route = item.route
        attempt = {"route": route, "at": self.now().isoformat(), "links": links}
        if route == "sms":
            attempt["to"] = item.mobile
            attempt["body_sha256"] = hashlib.sha256(text.text.encode()).hexdigest()
        return attempt

    def _email(self, item: BatchItem, text: Rendered, links: dict[str, str]) -> Email:
        link = links.get("unsubscribe_link")
        mailto = self.config.messages.unsubscribe_mailto
        return Email(
            touchpoint_id=item.touchpoint_id,
            to=item.email,
            to_name=item.first_name or "",
            subject=text.subject or "",
            text=text.text,
            html=text.html or "",
            category=item.milestone,
            headers=list_unsubscribe_headers(link, mailto) if link else {},
        )

    def _task(self, item: BatchItem, text: Rendered) -> RecruiterTask:
        return RecruiterTask(
            subject=(text.subject or "")[:100],
            # the touchpoint id makes the task findable before it is created again
            description=f"{text.text}\n\naftercare touchpoint: {item.touchpoint_id}",
            candidate_id=int(item.candidate_id),
            owner_id=int(item.owner_id),
            placement_id=int(item.placement_id) if item.placement_id is not None else None,
            due=datetime.fromisoformat(item.send_at),
        )


def send_batch(path: UPath, delivery: Delivery, *, dry_run: bool) -> Counter[str]:
    """Send one batch file (see the module docstring); returns counts by outcome (and, in a
    dry run, by milestone and route: what would go out)."""
    if journals.sealed(path):  # cleared after the run folded it: its touchpoints moved on
        log.warning("batch %s is folded into the ledger already: nothing to send", path.name)
        return Counter(already_folded=1)
    items = journals.read_batch(path)
    if dry_run:
        counts: Counter[str] = Counter()
        for item in items:
            try:
                delivery.render(item, dict.fromkeys(delivery.needs(item), DRY_RUN_LINK))
            except MessageError:
                counts[f"unrenderable_{item.milestone}_{item.route}"] += 1
                continue
            counts[f"would_send_{item.milestone}_{item.route}"] += 1
        log.info("dry run: %d touchpoints rendered, nothing sent: %s", len(items), dict(counts))
        return counts
    with journals.claim(path, delivery.config.dispatch.claim_wait_seconds):
        if journals.sealed(path):  # folded while this try waited for the claim
            return Counter(already_folded=1)
        return _send_claimed(path, items, delivery)


def _send_claimed(path: UPath, items: list[BatchItem], delivery: Delivery) -> Counter[str]:
    """The batch's sends, its claim held: the journal read now holds whatever an earlier try
    did, its attempts without an answer included."""
    delivery.open(items)
    journal_file = journals.journal_path(path)
    entries = journals.read_journal(journal_file)
    seal = journals.seal_path(path)
    counts: Counter[str] = Counter()
    lanes: dict[str, list[BatchItem]] = defaultdict(list)
    for item in items:
        lanes[journals.lane(item)].append(item)
    with journals.Journal(journal_file) as journal:

        def one_lane(items_of_lane: list[BatchItem]) -> list[str]:
            """A lane's touchpoints one after another, those in doubt first. Once one is
            left in doubt, the rest wait for the next run: a text to the same number now
            could be taken for it by a later look-up."""
            ordered = sorted(items_of_lane, key=lambda item: not _in_doubt(item, entries))
            # texts to this number the look-ups must not take: the ledger's and this batch's
            taken = {sid for item in ordered for sid in item.known_sids or ()}
            results: list[str] = []
            for item in ordered:
                entry = entries.get(item.touchpoint_id, journals.Entry())
                if entry.outcome is not None:
                    if sid := entry.outcome.get("provider_message_id"):
                        taken.add(sid)
                    results.append("already_recorded")
                elif "in_doubt" in results or "held_number_in_doubt" in results:
                    results.append("held_number_in_doubt")
                elif delivery.stop.is_set():
                    results.append("stopped")
                elif seal.exists():  # folded while this task ran (a zombie): stop sending
                    results.append("already_folded")
                else:
                    results.append(_send_one(item, entry, delivery, journal, taken))
            return results

        threads = delivery.providers.concurrency
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
            try:
                for results in pool.map(one_lane, lanes.values()):
                    before = sum(counts.values())
                    counts.update(results)
                    if (before + len(results)) // 1000 > before // 1000:  # another thousand
                        log.info(
                            "batch %s: %d of %d done: %s",
                            path.name,
                            sum(counts.values()),
                            len(items),
                            dict(counts),
                        )
            except BaseException:
                # whatever ends the loop early: the touchpoints still queued send nothing
                delivery.stop.set()
                raise
    if delivery.stop.is_set():
        log.warning(
            "batch %s: told to stop; what was in flight is left to the next try's look-up: %s",
            path.name,
            dict(counts),
        )
    log.info("batch %s done: %s", path.name, dict(counts))
    return counts


@contextmanager
def stop_on_terminate(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` when this process gets SIGTERM (how Airflow stops a task it no longer wants
    running, before it calls the task's ``on_kill``), then run the handler that was there. Only
    the main thread can install a handler; elsewhere the block runs without one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(signum: int, frame: Any) -> None:
        stop.set()
        log.warning("SIGTERM: this try stops sending")
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _in_doubt(item: BatchItem, entries: dict[str, journals.Entry]) -> bool:
    entry = entries.get(item.touchpoint_id)
    return bool(item.in_doubt) or (entry is not None and entry.in_doubt)


def _send_one(
    item: BatchItem,
    entry: journals.Entry,
    delivery: Delivery,
    journal: journals.Journal,
    taken: set[str],
) -> str:
    """One touchpoint (steps 2-4 of the module docstring): settled first when it may have
    gone out, else sent as new; returns what became of it. The provider id it ends with joins
    ``taken`` (its lane's texts no look-up may take)."""
    # the last try: from this journal, or (an earlier batch's) from the ledger
    earlier = entry.attempt or item.attempt
    doubt = entry.in_doubt or bool(item.in_doubt)
    if doubt and earlier:
        if (settled := _settle(item, earlier, delivery, journal, taken)) is not None:
            return settled
        doubt = False  # the provider has no such message: it never went out
    return _send_new(item, earlier, doubt, delivery, journal, taken)


def _settle(
    item: BatchItem,
    earlier: dict[str, Any],
    delivery: Delivery,
    journal: journals.Journal,
    taken: set[str],
) -> str | None:
    """A touchpoint that may have gone out on its ``earlier`` attempt, looked up at the
    provider: what became of it, journaled; ``None`` when the provider has no such message."""
    if delivery.stop.is_set():
        return "stopped"
    try:
        found = delivery.find(item, earlier, taken)
    except (Unavailable, ProviderError) as exc:
        found = _failed(item, exc, doubt=True)
    else:
        closed = _sendable(item, delivery.now(), delivery.config) == "window_closed"
        if found and found.outcome == "in_doubt" and closed:
            found = Outcome("failed", "unconfirmed")  # SMTP: no one can tell, and too late
        if not found:
            return None
    _journal_outcome(journal, item, found, delivery, taken)
    return "reconciled" if found.outcome == "sent" else found.outcome


def _send_new(
    item: BatchItem,
    earlier: dict[str, Any] | None,
    doubt: bool,
    delivery: Delivery,
    journal: journals.Journal,
    taken: set[str],
) -> str:
    """A touchpoint not sent yet (as far as anyone can tell): held while it must wait, else its
    links made, its message rendered, the attempt journaled, sent, and the outcome journaled.
    ``doubt``: it may have gone out already, so a failure leaves it in doubt."""
    wait = _sendable(item, delivery.now(), delivery.config)
    if wait == "window_closed" and item.in_doubt:
        # looked up, not found, too late now: what dispatch would have expired
        outcome = Outcome("expired", "missed_window")
    elif wait:
        return f"held_{wait}"
    elif delivery.stop.is_set():
        return "stopped"
    else:
        try:
            # links an earlier try made and journaled are reused: the same message again
            links = (earlier or {}).get("links") or delivery.make_links(item)
            text = delivery.render(item, links)
            if delivery.stop.is_set():
                return "stopped"
            tried = delivery.attempt(item, links, text)
            journal.attempt(item.touchpoint_id, tried)
            doubt = True  # from here until an answer, it may have gone out
            try:
                outcome = delivery.deliver(item, text, links)
            except Ambiguous:
                outcome = delivery.find(item, tried, taken) or Outcome("in_doubt")
        except (Unavailable, ProviderError, MessageError) as exc:
            outcome = _failed(item, exc, doubt=doubt)
    _journal_outcome(journal, item, outcome, delivery, taken)
    return outcome.outcome


def _failed(item: BatchItem, exc: Exception, *, doubt: bool) -> Outcome:
    """The outcome of a provider or template failure; ``doubt``: the message may have gone
    out. Refused credentials are raised: every send would fail, so the task stops."""
    if isinstance(exc, Unavailable):
        # the provider (or its look-up) kept failing: a send that may have gone out stays in
        # doubt, to be looked up again; one that surely did not is simply tried again
        return Outcome("in_doubt" if doubt else "transient")
    if isinstance(exc, ProviderError):
        if exc.status in (401, 403):
            raise exc
        return Outcome("failed", exc.reason)
    # the data cannot fill the template (logged without the data)
    log.warning("touchpoint %s: its message cannot be rendered", item.touchpoint_id)
    return Outcome("failed", "unrenderable")


def _journal_outcome(
    journal: journals.Journal,
    item: BatchItem,
    outcome: Outcome,
    delivery: Delivery,
    taken: set[str],
) -> None:
    if outcome.provider_message_id:
        taken.add(outcome.provider_message_id)
    journal.outcome(
        item.touchpoint_id,
        outcome.outcome,
        reason=outcome.reason,
        provider_message_id=outcome.provider_message_id,
        at=delivery.now().isoformat(),
        candidate_id=item.candidate_id,
    )
