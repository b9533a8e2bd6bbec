"""How many SMS a text costs: GSM 7-bit when every character fits, else UCS-2 (every Chinese text).

A single UCS-2 SMS holds 70 characters; a concatenated one 67 per part (the 6-byte header takes 3).
GSM 7-bit: 160 single, 153 per part; characters of the extension table (€ [ ] { } …) count twice.
Lengths are in UTF-16 code units, as the network counts them: an emoji outside the BMP takes two.
"""

import math
from dataclasses import dataclass

from minsheng.sms.choices import Encoding

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

UCS2_SINGLE, UCS2_PART = 70, 67
GSM_SINGLE, GSM_PART = 160, 153


@dataclass(frozen=True)
class Segmentation:
    encoding: str
    length: int
    segments: int

    @property
    def per_part(self) -> int:
        if self.encoding == Encoding.GSM7:
            return GSM_SINGLE if self.segments == 1 else GSM_PART
        return UCS2_SINGLE if self.segments == 1 else UCS2_PART


def is_gsm(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def segment(text: str) -> Segmentation:
    """The encoding, the length in that encoding's units and the number of SMS parts."""
    if is_gsm(text):
        length = sum(2 if ch in GSM_EXTENSION else 1 for ch in text)
        single, part, encoding = GSM_SINGLE, GSM_PART, Encoding.GSM7
    else:
        length = len(text.encode("utf-16-be")) // 2
        single, part, encoding = UCS2_SINGLE, UCS2_PART, Encoding.UCS2
    segments = 1 if length <= single else math.ceil(length / part)
    return Segmentation(encoding, length, segments)
