"""The one error of aftercare.messages."""


class MessageError(ValueError):
    """A template is missing, broken or unfit (naming milestone, channel and file), a message
    cannot be rendered, or a signed link is not genuine."""
