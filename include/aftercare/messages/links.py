"""Signed links: unsubscribe (opens the preferences service's page that opts a candidate out),
referral (the service records the click and sends the candidate on to the agency's form) and
video page (the service's personalised page of one video touchpoint, ``<base>/<token>``).

The token is the payload signed with HMAC (`itsdangerous`, a salt per purpose, so a referral
token never passes as an unsubscribe token). It is signed, not encrypted: it carries ids only,
never a name or an address. The secret comes from an Airflow connection at run time (the
preferences service reads the same secret from its environment); the caller passes it in, and
it is never logged or put in an error message.

Expiry. A video page token never expires (the page is the message; the service keeps the
page for its retention). An unsubscribe token never expires: an opt-out link must work
whenever it is used (PECR and the mailbox providers expect an opt-out in an old message to
work), and all it can do is stop messages. A referral token made now carries the instant it
was signed, and `verify_referral` refuses it after ``max_age`` seconds (`LinkExpired`).
Referral links sent before tokens carried an instant (salt ``aftercare.referral``, the
candidate id only) still verify, without expiry and without a touchpoint.
"""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from aftercare.messages.errors import MessageError

#: the channels an unsubscribe link names (as in aftercare.suppressions)
OPT_OUT_CHANNELS = ("email", "sms", "all")
#: the body of an RFC 8058 one-click POST, and the header that announces it
ONE_CLICK = "List-Unsubscribe=One-Click"


class LinkExpired(MessageError):
    """A genuine token past its age."""


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    if not secret:
        raise MessageError("the link signing secret is empty")
    return URLSafeSerializer(secret, salt=f"aftercare.{purpose}")


def _timed(secret: str, purpose: str) -> URLSafeTimedSerializer:
    if not secret:
        raise MessageError("the link signing secret is empty")
    return URLSafeTimedSerializer(secret, salt=f"aftercare.{purpose}.timed")


def _link(base_url: str, **params: str) -> str:
    return f"{base_url}{'&' if '?' in base_url else '?'}{urlencode(params)}"


def unsubscribe_link(
    base_url: str, secret: str, candidate_id: int | str, channel: str, touchpoint_id: str
) -> str:
    """``base_url?token=...``: opts ``candidate_id`` out of ``channel`` (email, sms or all);
    ``touchpoint_id`` attributes the opt-out to the message that carried the link."""
    if channel not in OPT_OUT_CHANNELS:
        raise MessageError(f"unsubscribe channel {channel!r} is not one of {OPT_OUT_CHANNELS}")
    token = _serializer(secret, "unsubscribe").dumps([candidate_id, channel, touchpoint_id])
    return _link(base_url, token=token)


def verify_unsubscribe(token: str, secret: str) -> tuple[int | str, str, str]:
    """``(candidate_id, channel, touchpoint_id)`` of a token `unsubscribe_link` made;
    `MessageError` when it was tampered with or signed with another secret."""
    try:
        candidate_id, channel, touchpoint_id = _serializer(secret, "unsubscribe").loads(token)
    except (BadSignature, TypeError, ValueError):
        raise MessageError("unsubscribe token is invalid") from None
    return candidate_id, channel, touchpoint_id


def list_unsubscribe_headers(link: str, mailto: str) -> dict[str, str]:
    """The header fields of an email with a one-click unsubscribe (RFC 2369 and RFC 8058): the
    signed link and a mailto, and the announcement that a POST to the link opts out."""
    return {
        "List-Unsubscribe": f"<{link}>, <mailto:{mailto}?subject=unsubscribe>",
        "List-Unsubscribe-Post": ONE_CLICK,
    }


def referral_link(base_url: str, secret: str, candidate_id: int | str, touchpoint_id: str) -> str:
    """``base_url?ref=...``: a click on it is recorded for ``touchpoint_id`` (the ask), and a
    referral made after it is attributed to ``candidate_id``. The token expires (see above)."""
    token = _timed(secret, "referral").dumps([candidate_id, touchpoint_id])
    return _link(base_url, ref=token)


def verify_referral(token: str, secret: str, max_age: int) -> tuple[int | str, str | None]:
    """``(candidate_id, touchpoint_id)`` of a `referral_link` token (touchpoint None for a
    link made before tokens named it); `LinkExpired` past ``max_age`` seconds, `MessageError`
    when it is not genuine."""
    try:
        candidate_id, touchpoint_id = _timed(secret, "referral").loads(token, max_age=max_age)
        return candidate_id, touchpoint_id
    except SignatureExpired:
        raise LinkExpired("referral token has expired") from None
    except (BadSignature, TypeError, ValueError):
        pass
    try:  # a link sent before referral tokens were timed: the candidate id only
        candidate_id = _serializer(secret, "referral").loads(token)
    except BadSignature:
        raise MessageError("referral token is invalid") from None
    if not isinstance(candidate_id, int | str):
        raise MessageError("referral token is invalid")
    return candidate_id, None


def video_page_link(base_url: str, secret: str, candidate_id: int, touchpoint_id: str) -> str:
    """``base_url/<token>``: the personalised video page of ``touchpoint_id`` (the token names
    the candidate and the touchpoint, nothing else)."""
    token = _serializer(secret, "video").dumps([candidate_id, touchpoint_id])
    return f"{base_url.rstrip('/')}/{token}"


def verify_video(token: str, secret: str) -> tuple[int, str]:
    """``(candidate_id, touchpoint_id)`` of a `video_page_link` token; `MessageError` when it
    was tampered with or signed with another secret."""
    try:
        candidate_id, touchpoint_id = _serializer(secret, "video").loads(token)
    except (BadSignature, TypeError, ValueError):
        raise MessageError("video page token is invalid") from None
    if not isinstance(candidate_id, int) or not isinstance(touchpoint_id, str):
        raise MessageError("video page token is invalid")
    return candidate_id, touchpoint_id
