"""SMS segment counting: how many parts a text costs to send.

GSM-7 (3GPP TS 23.038, the `gsm0338` codec) when every character is in its basic set or
extension table: 160 septets in one SMS, 153 a part when split; an extension character
(``€ [ ] { } ^ ~ \\ |`` and the form feed) takes two septets (escape + code). One character
outside GSM-7 makes the whole text UCS-2: 70 UTF-16 units in one SMS, 67 a part; an emoji
outside the BMP takes two. A character is never split across parts, so the parts are packed
character by character as a handset does.
"""

from __future__ import annotations

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

#: (units in a single SMS, units per part of a concatenated SMS)
GSM7 = (160, 153)
UCS2 = (70, 67)


def _units(text: str) -> tuple[list[int], tuple[int, int]]:
    """The cost of each character in its encoding's units, and that encoding's limits."""
    try:
        return [len(ch.encode("gsm03.38")) for ch in text], GSM7
    except UnicodeEncodeError:
        return [len(ch.encode("utf-16-le")) // 2 for ch in text], UCS2


def encoding(text: str) -> str:
    """``"GSM-7"`` or ``"UCS-2"``: how ``text`` is sent."""
    return "GSM-7" if _units(text)[1] == GSM7 else "UCS-2"


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (1 for an empty text)."""
    units, (single, part) = _units(text)
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for cost in units:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count
