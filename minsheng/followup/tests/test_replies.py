"""The reply parser against replies as citizens write them (plain pytest, no database).

S = 满意, B = 基本满意, D = 不满意, U = unclear (goes to an agent). ``TD`` marks an opt-out.
"""

import pytest

from minsheng.cases.choices import FollowupAnswer
from minsheng.followup.replies import read_reply

S, B, D, U = (
    FollowupAnswer.SATISFIED,
    FollowupAnswer.BASICALLY_SATISFIED,
    FollowupAnswer.DISSATISFIED,
    None,
)
TD = True

REPLIES = [
    # The options as asked.
    ("1", S),
    ("2", B),
    ("3", D),
    (" 1 ", S),
    ("1。", S),
    ("1.", S),
    ("3！", D),
    ("１", S),  # full-width digits
    ("２", B),
    ("３", D),
    ("①", S),
    ("③", D),
    ("一", S),
    ("三", D),
    ("11", S),  # typed twice
    ("333", D),
    ("回复1", S),
    ("回复 3", D),
    ("我选2", B),
    ("选择1", S),
    ("1满意", S),
    ("1 满意", S),
    ("2基本满意", B),
    ("3不满意", D),
    ("3、不满意", D),
    ("1，谢谢", S),
    ("2，太慢了", B),  # the option is the rating, the words a comment
    ("3 还是很吵", D),
    ("3，民警态度还行但是没解决", D),
    # The answers in words.
    ("满意", S),
    ("满意。", S),
    ("满意！", S),
    ("非常满意", S),
    ("很满意", S),
    ("十分满意，谢谢", S),
    ("满意满意", S),
    ("挺满意的", S),
    ("没有不满意的", S),
    ("基本满意", B),
    ("比较满意", B),
    ("还算满意吧", B),
    ("不满意", D),
    ("不满意！", D),
    ("不满意！！！", D),
    ("很不满意", D),
    ("非常不满意", D),
    ("不太满意", D),
    ("不是很满意", D),
    ("不怎么满意", D),
    # Free words.
    ("还行", B),
    ("还行吧", B),
    ("还可以", B),
    ("一般", B),
    ("一般般", B),
    ("凑合", B),
    ("马马虎虎吧", B),
    ("还好", B),
    ("基本解决了", B),
    ("有待改进", B),
    ("还行，谢谢", B),
    ("谢谢", S),
    ("谢谢！", S),
    ("感谢民警同志", S),
    ("辛苦了", S),
    ("好的", S),
    ("好", S),
    ("OK", S),
    ("ok", S),
    ("很好", S),
    ("挺好的，谢谢你们", S),
    ("不错", S),
    ("还不错", S),
    ("好评", S),
    ("点赞", S),
    ("已解决，谢谢", S),
    ("问题解决了，感谢", S),
    ("处理得很快，满意", S),
    ("满意，但希望以后快一点", S),
    ("基本满意，就是太慢了", B),  # the rating word wins over the comment
    ("民警态度很好，点赞", S),
    ("没解决", D),
    ("没有解决", D),
    ("问题还是没解决", D),
    ("根本没人管", D),
    ("差评", D),
    ("太慢了", D),
    ("太慢了！！", D),
    ("不行", D),
    ("不好", D),
    ("态度不好", D),
    ("敷衍了事", D),
    ("还是一样吵", D),
    ("烧烤摊依然开到半夜", D),
    ("3天了还没人来", D),
    ("一个月了还没解决", D),
    ("推诿扯皮，踢皮球", D),
    ("我要投诉", D),
    ("不满意，我要继续投诉", D),
    ("谢谢，但是问题还是没解决", D),
    # Emoji.
    ("👍", S),
    ("👍👍👍", S),
    ("满意👍", S),
    ("😊", S),
    ("👎", D),
    ("😡", D),
    ("不满意😡", D),
    ("😐", B),
    # Long free text.
    ("上次反映的烧烤摊现在晚上十点就收摊了，感谢民警同志的辛苦付出", S),
    ("你们派出所的民警来过一次，说了几句就走了，烧烤摊到现在还是开到凌晨，根本没有效果", D),
    ("民警态度很好，但是问题一点都没解决，晚上还是吵得睡不着", U),  # praise and complaint: an agent calls
    ("楼下那家店已经搬走了", U),
    # Not an answer.
    ("", U),
    ("   ", U),
    ("？", U),
    ("？？？", U),
    ("这是什么短信？", U),
    ("你们是谁", U),
    ("你好，请问是哪里？", U),
    ("收到", U),
    ("嗯", U),
    ("4", U),
    ("0", U),
    ("12345", U),
    ("13", U),
    ("1个", U),
    ("1不满意", U),  # the number and the words disagree
    ("满意吗？", S),  # a rating word, even in a question, is a rating
    ("解决了吗？", U),
    ("我明天再打电话问问", U),
]

OPT_OUTS = [
    ("TD", U),
    ("td", U),
    ("T", U),
    ("ＴＤ", U),  # full-width
    ("退订", U),
    ("退订！", U),
    ("回复TD退订", U),
    ("别再发了", U),
    ("不要再发短信了", U),
    ("3 TD", D),
    ("不满意TD", D),
    ("1 退订", S),
    ("满意，退订", S),
]


def test_the_table_is_big_enough():
    assert len(REPLIES) + len(OPT_OUTS) >= 100


@pytest.mark.parametrize(("text", "expected"), REPLIES, ids=[repr(t) for t, _ in REPLIES])
def test_reply(text, expected):
    reading = read_reply(text)
    assert reading.answer == expected, reading.why
    assert reading.opt_out is False


@pytest.mark.parametrize(("text", "expected"), OPT_OUTS, ids=[repr(t) for t, _ in OPT_OUTS])
def test_opt_out(text, expected):
    reading = read_reply(text)
    assert reading.opt_out is True
    assert reading.answer == expected, reading.why


@pytest.mark.parametrize("text", ["TDS", "ltd", "std2", "看到了", "todo"])
def test_words_that_merely_contain_td_are_not_opt_outs(text):
    assert read_reply(text).opt_out is False


def test_every_reading_says_why():
    for text, _ in REPLIES + OPT_OUTS:
        assert read_reply(text).why


def test_garbage_never_raises():
    for text in ["\x00\x01", "💩" * 500, "满" * 5000, "%E4%B8%8D", "<script>alert(1)</script>", "\u202e3"]:
        read_reply(text)
