"""``minsheng dedup groups``: the intake detector over a CSV."""

import csv
from datetime import UTC, datetime, timedelta, timezone
from difflib import SequenceMatcher
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from minsheng.dedup.cli import parse_time

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "teddycup2020"
ATTACHMENT_3 = SHARED / "messages_with_votes_附件3.csv"
CST = timezone(timedelta(hours=8))

NOISE = "A3区锦绣华庭小区楼下的金鼎烧烤店每天营业到凌晨三点，油烟直接排进居民家里，划拳喝酒的声音很大，严重影响休息。"
NOISE_RETOLD = (
    "锦绣华庭小区楼底下金鼎烧烤店天天开到半夜三点，油烟直排，喝酒吵闹声音大，影响住户休息，望早日解决。"
)
NOISE_ELSEWHERE = NOISE.replace("锦绣华庭", "碧水蓝湾")


def write(path, header, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def read_groups(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/9/5 12:29:01", datetime(2019, 9, 5, 12, 29, 1, tzinfo=CST)),
        ("2019-09-05 12:29:01", datetime(2019, 9, 5, 12, 29, 1, tzinfo=CST)),
        ("2019-09-05T12:29:01+08:00", datetime(2019, 9, 5, 12, 29, 1, tzinfo=CST)),
        ("2019-09-05T04:29:01Z", datetime(2019, 9, 5, 4, 29, 1, tzinfo=UTC)),
        ("2019-09-05", datetime(2019, 9, 5, tzinfo=CST)),
        ("2019/9/5", datetime(2019, 9, 5, tzinfo=CST)),
        ("2019年9月5日 8:05", datetime(2019, 9, 5, 8, 5, tzinfo=CST)),
        ("", None),
        ("not a time", None),
    ],
)
def test_parse_time_accepts_the_export_formats(value, expected):
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None


def test_groups_every_row_in_input_order_with_missing_cells(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    rows = [
        # id, title, detail, time, phone, address, channel
        ["r3", "", NOISE_RETOLD, "2024/3/2 10:00:00", "13800001111", "", "chief_mailbox"],
        [
            "r1",
            "烧烤店扰民",
            NOISE,
            "2024-03-01 09:00:00",
            "13800001111",
            "A3区锦绣华庭小区",
            "hotline_12345",
        ],
        ["", "", "", "", "", "", ""],  # an empty row still gets a line
        ["r2", "", NOISE_ELSEWHERE, "2024-03-01T12:00:00+08:00", "", "", ""],
        ["r4", "", "咨询一下身份证丢失后怎么补办", "", "", "", "visit"],
    ]
    write(src, ["编号", "标题", "内容", "时间", "电话", "地址", "渠道"], rows, encoding="gb18030")
    call_command(
        "dedup",
        "groups",
        "--input",
        str(src),
        "--id-column",
        "编号",
        "--text-column",
        "标题",
        "--text-column",
        "内容",
        "--time-column",
        "时间",
        "--phone-column",
        "电话",
        "--place-column",
        "地址",
        "--channel-column",
        "渠道",
        "--output",
        str(out),
    )
    lines = read_groups(out)
    assert lines[0] == ["id", "group_id"]
    assert [line[0] for line in lines[1:]] == ["r3", "r1", "", "r2", "r4"]
    groups = dict(lines[1:2] + lines[2:3] + lines[4:])
    assert groups["r3"] == groups["r1"] == "r1"  # time order: r1 came first and is the master
    assert groups["r2"] == "r2"  # same words, another community
    assert groups["r4"] == "r4"
    assert lines[3][1]  # the empty row has a group of its own


def test_unknown_column_is_a_clear_error(tmp_path):
    src = tmp_path / "in.csv"
    write(src, ["id", "text"], [["1", "x"]])
    with pytest.raises(CommandError, match="nope"):
        call_command(
            "dedup", "groups", "--input", str(src), "--id-column", "id", "--text-column", "nope",
            "--output", str(tmp_path / "out.csv"),
        )  # fmt: skip


@pytest.mark.skipif(not ATTACHMENT_3.exists(), reason="../shared/data/teddycup2020 is not available")
def test_official_example_of_attachment_3_is_grouped(tmp_path):
    """IDs 360100–360114 repeat earlier messages of the file (same time, same title give or take a
    word, a re-keyed user); each must share its original's group, and one citizen's two posts
    (360107/360108) one group. The file also holds the same words about another community at the
    very same second (269977 beside 360100/195095): that one must stay apart."""
    out = tmp_path / "out.csv"
    call_command(
        "dedup", "groups", "--input", str(ATTACHMENT_3), "--id-column", "留言编号",
        "--text-column", "留言主题", "--text-column", "留言详情", "--time-column", "留言时间",
        "--output", str(out),
    )  # fmt: skip
    groups = dict(read_groups(out)[1:])
    with open(ATTACHMENT_3, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_time: dict[datetime, list[dict]] = {}
    for row in rows:
        by_time.setdefault(parse_time(row["留言时间"]), []).append(row)
    with_original = 0
    for rid in (str(n) for n in range(360100, 360115)):
        row = next(r for r in rows if r["留言编号"] == rid)
        for other in by_time[parse_time(row["留言时间"])]:
            same_title = SequenceMatcher(None, other["留言主题"], row["留言主题"]).ratio() >= 0.8
            if other is not row and same_title:
                assert groups[other["留言编号"]] == groups[rid], (rid, other["留言编号"])
                with_original += 1
    assert with_original >= 13  # 360113 and 360114 have no earlier copy in the file
    assert groups["360107"] == groups["360108"]
    assert groups["269977"] != groups["360100"]
