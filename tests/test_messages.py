"""aftercare.messages: every shipped template renders, data is never template code, the load
checks trip (missing file, unknown variable, opt-out, SMS length), segments, signed links."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeSerializer

from aftercare.config import Config, load_config
from aftercare.messages import (
    LinkExpired,
    MessageContext,
    MessageError,
    Templates,
    encoding,
    list_unsubscribe_headers,
    referral_link,
    segments,
    unsubscribe_link,
    verify_referral,
    verify_unsubscribe,
)
from aftercare.messages.templates import PARTS, TEMPLATE_ROOT

SECRET = "test-signing-secret-0123456789"  # noqa: S105
INJECTION = "{{ 7*7 }}{% for x in y %}<script>&"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config()


@pytest.fixture(scope="module")
def templates(config: Config) -> Templates:
    return Templates.load(config)


def _context(milestone: str, channel: str, **changes: object) -> MessageContext:
    values = {
        "first_name": "Priya",
        "job_title": "Warehouse Operative",
        "client": "Acme Logistics",
        "recruiter_name": "Alex Taylor",
        "recruiter_contact": "alex@agency.example",
        "milestone": milestone,
        "touchpoint_id": "tp-1",
        "video_link": "https://v.example/abc" if channel.startswith("video") else None,
        "review_link": "https://r.example/abc" if milestone == "review_request" else None,
        "referral_link": "https://f.example/abc" if milestone == "referral_ask" else None,
        "unsubscribe_link": None
        if milestone == "first_day"
        else unsubscribe_link("https://u.example/unsubscribe", SECRET, 7, "email", "tp-1"),
        "years": 2,
    }
    return MessageContext(**(values | changes))


def _copy_templates(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATE_ROOT, root)
    return root


def test_shipped_config_loads_every_milestone_and_channel(
    config: Config, templates: Templates
) -> None:
    expected = {
        (name, channel)
        for name, milestone in config.planning.milestones.items()
        for kind in milestone.channels
        for channel in (("video_email", "video_sms") if kind == "video" else (kind,))
    }
    assert set(templates.channels()) == expected
    assert {m for m, _ in expected} == {
        "first_day", "check_in", "check_in_call", "review_request",
        "referral_ask", "work_anniversary", "birthday", "availability_check",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("milestone", "channel"),
    [(m, c) for m, c in Templates.load(load_config()).channels()],
)
def test_every_shipped_message_renders(templates: Templates, milestone: str, channel: str) -> None:
    context = _context(milestone, channel)
    rendered = templates.render(milestone, channel, context)
    subject_file, _, html_file = PARTS[channel]

    assert "Priya" in rendered.text and "None" not in rendered.text
    assert (rendered.subject is None) == (subject_file is None)
    assert (rendered.html is None) == (html_file is None)
    if rendered.subject is not None:
        assert rendered.subject and "\n" not in rendered.subject
    if channel.startswith("video"):
        assert context.video_link in rendered.text
    if milestone == "review_request":
        assert context.review_link in rendered.text
    if milestone == "referral_ask" and channel != "video_sms":
        assert context.referral_link in rendered.text
    if channel.endswith("sms"):
        assert segments(rendered.text) <= 2 and rendered.text == rendered.text.strip()
        assert rendered.text.rstrip().endswith("Reply STOP to opt out") != (
            milestone == "first_day"
        )
    elif channel != "phone" and milestone != "first_day":
        assert context.unsubscribe_link in rendered.text
        assert context.unsubscribe_link in rendered.html
    if channel == "phone":
        assert len(rendered.subject) <= 100 and "Acme Logistics" in rendered.text


def test_anniversary_says_years(templates: Templates) -> None:
    one = templates.render("work_anniversary", "sms", _context("work_anniversary", "sms", years=1))
    five = templates.render("work_anniversary", "sms", _context("work_anniversary", "sms", years=5))

    assert "1 year " in one.text and "5 years " in five.text


def test_values_are_data_never_template_code(templates: Templates) -> None:
    context = _context("check_in", "email", first_name=INJECTION, client="Bistro & Co")
    email = templates.render("check_in", "email", context)
    sms = templates.render("check_in", "sms", _context("check_in", "sms", first_name=INJECTION))

    assert INJECTION in email.subject and INJECTION in email.text and INJECTION in sms.text
    assert "49" not in email.text + email.subject + sms.text
    assert "{{ 7*7 }}{% for x in y %}&lt;script&gt;&amp;" in email.html
    assert "<script>" not in email.html and "Bistro &amp; Co" in email.html


def test_unknown_recruiter_falls_back_to_the_configured_contact(
    config: Config, templates: Templates
) -> None:
    context = _context("check_in", "email", recruiter_name=None, recruiter_contact=None)
    rendered = templates.render("check_in", "email", context)

    assert config.messages.sender_name in rendered.text
    assert config.messages.recruiter_contact in rendered.text


def test_a_missing_link_fails_at_render_instead_of_saying_none(templates: Templates) -> None:
    context = _context("review_request", "email", review_link=None)

    with pytest.raises(MessageError, match=r"'review_request', channel 'email', file email\."):
        templates.render("review_request", "email", context)


def test_missing_template_is_named(config: Config, tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    (root / "birthday" / "sms.txt.j2").unlink()

    with pytest.raises(
        MessageError, match=r"milestone 'birthday', channel 'sms', file sms\.txt\.j2: Template"
    ):
        Templates.load(config, root=root)


def test_broken_template_is_named(config: Config, tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    (root / "check_in" / "email.subject.j2").write_text("Hi {{ first_name ")

    with pytest.raises(MessageError, match=r"'check_in', channel 'email', file email\.subject"):
        Templates.load(config, root=root)


def test_unknown_variable_fails_at_load_naming_the_file(config: Config, tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    path = root / "check_in" / "email.html.j2"
    path.write_text(path.read_text().replace("{{ client }}", "{{ company }}"))

    with pytest.raises(MessageError, match=r"file email\.html\.j2: .*'company' is undefined"):
        Templates.load(config, root=root)


@pytest.mark.parametrize(
    ("file", "channel"),
    [
        ("email.txt.j2", "email"),
        ("email.html.j2", "email"),
        ("sms.txt.j2", "sms"),
        ("video_sms.txt.j2", "video_sms"),
    ],
)
def test_template_without_opt_out_fails_at_load(
    config: Config, tmp_path: Path, file: str, channel: str
) -> None:
    root = _copy_templates(tmp_path)
    path = root / "work_anniversary" / file
    if file.endswith("html.j2"):  # the footer of the shared layout carries the link
        path.write_text("<p>Hi {{ first_name }}, happy anniversary.</p>\n")
    elif file == "email.txt.j2":
        path.write_text("Hi {{ first_name }}, happy anniversary.\n")
    else:
        path.write_text(path.read_text().replace("Reply STOP to opt out", ""))

    with pytest.raises(MessageError, match=rf"'{channel}', file {file}: .*(opt out|unsubscribe)"):
        Templates.load(config, root=root)


def test_too_long_sms_fails_at_load(config: Config, tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    path = root / "birthday" / "sms.txt.j2"
    path.write_text("{{ job_title }} " * 7 + path.read_text())

    with pytest.raises(MessageError, match=r"'birthday', channel 'sms', file sms.* 3 SMS segments"):
        Templates.load(config, root=root)


def test_too_long_phone_subject_fails_at_load(config: Config, tmp_path: Path) -> None:
    root = _copy_templates(tmp_path)
    (root / "check_in_call" / "phone.subject.j2").write_text(
        "Call {{ first_name }} about {{ job_title }} at {{ client }}\n"
    )

    with pytest.raises(MessageError, match=r"file phone\.subject\.j2: is 1\d\d characters"):
        Templates.load(config, root=root)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # an extension character counts double
        ("€" + "a" * 159, 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but an escape pair never splits
        ("é" * 160, 1),  # accents of the GSM-7 basic set
        ("ć" + "a" * 69, 1),  # not GSM-7: UCS-2
        ("ć" + "a" * 70, 2),
        ("ć" + "a" * 133, 2),
        ("ć" + "a" * 134, 3),
        ("😀" * 35, 1),  # outside the BMP: two UTF-16 units
        ("😀" * 36, 2),
    ],
)
def test_sms_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_sms_encoding() -> None:
    assert encoding("Café £5 {ok} Ç") == "GSM-7"
    assert encoding("Ćwiek") == encoding("naïve ’quote’") == "UCS-2"


def test_unsubscribe_link_round_trip_and_secret_stays_out() -> None:
    link = unsubscribe_link("https://u.example/unsubscribe", SECRET, 1234, "sms", "tp-99")
    token = link.split("?token=", 1)[1]

    assert link.startswith("https://u.example/unsubscribe?token=")
    assert SECRET not in link
    assert verify_unsubscribe(token, SECRET) == (1234, "sms", "tp-99")


def test_unsubscribe_link_keeps_an_existing_query() -> None:
    link = unsubscribe_link("https://u.example/u?lang=en", SECRET, 1, "all", "tp")

    assert link.startswith("https://u.example/u?lang=en&token=")


def test_tampered_or_foreign_tokens_are_refused() -> None:
    token = unsubscribe_link("https://u.example/u", SECRET, 1234, "email", "tp-1").split("=")[1]
    signature = token.split(".")[1]
    forged = unsubscribe_link("https://u.example/u", SECRET, 9999, "email", "tp-1")
    forged_payload = forged.split("=")[1].split(".")[0]

    for bad in (f"{forged_payload}.{signature}", token[:-2] + "xx", "garbage", ""):
        with pytest.raises(MessageError, match="unsubscribe token is invalid"):
            verify_unsubscribe(bad, SECRET)
    with pytest.raises(MessageError, match="unsubscribe token is invalid"):
        verify_unsubscribe(token, "another-secret")
    referral = referral_link("https://f.example/refer", SECRET, 1234, "tp-2").split("ref=")[1]
    with pytest.raises(MessageError):  # a referral token is no unsubscribe token
        verify_unsubscribe(referral, SECRET)
    with pytest.raises(MessageError):  # nor an unsubscribe token a referral token
        verify_referral(token, SECRET, max_age=60)
    assert verify_referral(referral, SECRET, max_age=60) == (1234, "tp-2")


def test_referral_tokens_expire_and_old_untimed_ones_still_verify(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    month_ago = int(time.time()) - 31 * 86400
    with monkeypatch.context() as patched:  # a link signed a month ago
        patched.setattr(TimestampSigner, "get_timestamp", lambda self: month_ago)
        referral = referral_link("https://f.example/refer", SECRET, 7, "tp-7").split("ref=")[1]
    assert verify_referral(referral, SECRET, max_age=32 * 86400) == (7, "tp-7")
    with pytest.raises(LinkExpired, match="expired"):
        verify_referral(referral, SECRET, max_age=30 * 86400)
    # a link sent before tokens were timed: the candidate id alone, no expiry
    old = URLSafeSerializer(SECRET, salt="aftercare.referral").dumps(7)
    assert verify_referral(old, SECRET, max_age=1) == (7, None)
    with pytest.raises(MessageError, match="referral token is invalid"):
        verify_referral(old[:-2] + "xx", SECRET, max_age=1)


def test_list_unsubscribe_headers_announce_one_click() -> None:
    link = unsubscribe_link("https://u.example/u", SECRET, 1, "email", "tp")
    headers = list_unsubscribe_headers(link, "unsubscribe@agency.example")

    assert headers == {
        "List-Unsubscribe": f"<{link}>, <mailto:unsubscribe@agency.example?subject=unsubscribe>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_unsubscribe_channel_must_be_a_suppression_channel() -> None:
    with pytest.raises(MessageError, match="'video_email' is not one of"):
        unsubscribe_link("https://u.example/u", SECRET, 1, "video_email", "tp")
