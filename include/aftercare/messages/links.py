"""Signed links: unsubscribe (one click opts a candidate out of a channel) and referral.

The token is the payload signed with HMAC (`itsdangerous`, a salt per purpose, so a referral
token never passes as an unsubscribe token). It is signed, not encrypted: it carries ids only,
never a name or an address. It does not expire: an opt-out link must work whenever it is used.
The secret comes from an Airflow connection at run time; the caller passes it in, and it is
never logged or put in an error message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from aftercare.messages.errors import MessageError

#: the channels a candidate can opt out of (as in aftercare.suppressions)
OPT_OUT_CHANNELS = ("email", "sms", "all")


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    if not secret:
        raise MessageError("the link signing secret is empty")
    return URLSafeSerializer(secret, salt=f"aftercare.{purpose}")


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


def referral_link(base_url: str, secret: str, candidate_id: int | str) -> str:
    """``base_url?ref=...``: a referral made through it is attributed to ``candidate_id``."""
    return _link(base_url, ref=_serializer(secret, "referral").dumps(candidate_id))


def verify_referral(token: str, secret: str) -> int | str:
    """The candidate id of a `referral_link` token; `MessageError` when it is not genuine."""
    try:
        return _serializer(secret, "referral").loads(token)
    except BadSignature:
        raise MessageError("referral token is invalid") from None
