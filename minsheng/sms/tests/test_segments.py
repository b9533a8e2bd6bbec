"""Long-message segmentation: 70 UCS-2 characters in one SMS, 67 per part when concatenated."""

import pytest

from minsheng.sms.choices import Encoding
from minsheng.sms.segments import segment


@pytest.mark.parametrize(
    ("text", "encoding", "length", "segments"),
    [
        ("", Encoding.GSM7, 0, 1),
        ("Hello", Encoding.GSM7, 5, 1),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("€" * 80, Encoding.GSM7, 160, 1),  # extension characters count twice
        ("满" * 70, Encoding.UCS2, 70, 1),
        ("满" * 71, Encoding.UCS2, 71, 2),
        ("满" * 134, Encoding.UCS2, 134, 2),
        ("满" * 135, Encoding.UCS2, 135, 3),
        ("a" * 69 + "满", Encoding.UCS2, 70, 1),  # one Chinese character makes the whole text UCS-2
        ("👍" * 35, Encoding.UCS2, 70, 1),  # an emoji outside the BMP is two UTF-16 units
        ("👍" * 36, Encoding.UCS2, 72, 2),
    ],
)
def test_segments(text, encoding, length, segments):
    seg = segment(text)
    assert (seg.encoding, seg.length, seg.segments) == (encoding, length, segments)


def test_per_part_capacity():
    assert segment("满" * 10).per_part == 70
    assert segment("满" * 100).per_part == 67
    assert segment("a" * 200).per_part == 153
