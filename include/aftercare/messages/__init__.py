"""The messages the send stage sends: templates per milestone and channel, rendered in a Jinja
sandbox (`templates`), SMS segment counts (`sms`) and signed unsubscribe, referral and video
page links (`links`).

    templates = Templates.load(load_config())        # checks every template, fails loudly
    link = unsubscribe_link(base, secret, candidate_id, "email", touchpoint_id)
    message = templates.render("check_in", "email", MessageContext(..., unsubscribe_link=link))
"""

from aftercare.messages.errors import MessageError
from aftercare.messages.links import (
    ONE_CLICK,
    LinkExpired,
    list_unsubscribe_headers,
    referral_link,
    unsubscribe_link,
    verify_referral,
    verify_unsubscribe,
    verify_video,
    video_page_link,
)
from aftercare.messages.sms import encoding, segments
from aftercare.messages.templates import MessageContext, Rendered, Templates

__all__ = [
    "ONE_CLICK",
    "LinkExpired",
    "MessageContext",
    "MessageError",
    "Rendered",
    "Templates",
    "encoding",
    "list_unsubscribe_headers",
    "referral_link",
    "segments",
    "unsubscribe_link",
    "verify_referral",
    "verify_unsubscribe",
    "verify_video",
    "video_page_link",
]
