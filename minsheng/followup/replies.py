"""Reading a citizen's SMS reply to "are you satisfied?": 1/2/3, the three answers, or free words.

The rules are deliberately plain (a table of words, longest first), so an agent can see why a reply
was read as it was, and anything not clear goes to an agent rather than being guessed:

1. A bare option number (1/2/3, full-width １, ①, 一二三, "回复3", "3.") is the answer. A number followed
   by the same option's words ("3不满意") too; followed by anything else ("3天了还没人来") it is text.
2. Otherwise words count, longest first, each consumed when matched (so "不满意" is never also read
   as "满意", "不好" never as "好"). Three weights: the rating words themselves (满意/基本满意/不满意
   and their degrees) win over commentary (没解决, 太慢了, 还行, 很好), which wins over courtesy
   (谢谢, 好的, 辛苦了). Within the deciding weight: one kind of answer → that answer; satisfied with
   basically satisfied → basically satisfied; dissatisfied with anything positive → unclear.
3. A question without a rating ("这是什么短信？") is not an answer.
4. An opt-out (TD/退订) is noted whatever else the reply says; "3 TD" is dissatisfied *and* an opt-out.
"""

import re
from dataclasses import dataclass

from minsheng.cases.choices import FollowupAnswer
from minsheng.sms.optout import compact, is_opt_out, normalise

SAT, BASIC, DIS = FollowupAnswer.SATISFIED, FollowupAnswer.BASICALLY_SATISFIED, FollowupAnswer.DISSATISFIED
RATING, COMMENT, COURTESY = 3, 2, 1

_WORDS: dict[str, tuple[str, int]] = {}


def _add(answer: str, weight: int, *words: str) -> None:
    for word in words:
        _WORDS[word] = (answer, weight)


_add(
    SAT,
    RATING,
    "满意",
    "很满意",
    "非常满意",
    "十分满意",
    "特别满意",
    "挺满意",
    "相当满意",
    "满意满意",
    "没有不满意",
    "没什么不满意",
    "satisfied",
    "verysatisfied",
)
_add(
    BASIC,
    RATING,
    "基本满意",
    "基本上满意",
    "比较满意",
    "较满意",
    "还算满意",
    "还比较满意",
    "一般满意",
    "差不多满意",
    "还满意",
)
_add(
    DIS,
    RATING,
    "不满意",
    "很不满意",
    "非常不满意",
    "十分不满意",
    "特别不满意",
    "极不满意",
    "不太满意",
    "不大满意",
    "不怎么满意",
    "不是很满意",
    "不是太满意",
    "不够满意",
    "无法满意",
    "没法满意",
    "不满",
    "unsatisfied",
    "dissatisfied",
    "notsatisfied",
)
_add(
    SAT,
    COMMENT,
    "很好",
    "非常好",
    "挺好",
    "特别好",
    "太好了",
    "真好",
    "不错",
    "很不错",
    "挺不错",
    "还不错",
    "好评",
    "点赞",
    "给力",
    "满分",
    "100分",
    "五星",
    "5星",
    "已解决",
    "解决了",
    "问题解决",
    "处理了",
    "处理好了",
    "已处理",
    "办好了",
    "效率高",
    "很及时",
    "非常及时",
    "很快",
    "速度快",
    "态度好",
    "态度很好",
    "好样的",
    "优秀",
    "棒",
    "赞",
    "good",
    "great",
    "perfect",
    "excellent",
)
_add(
    BASIC,
    COMMENT,
    "还行",
    "还可以",
    "还算可以",
    "还算行",
    "可以吧",
    "一般",
    "一般般",
    "凑合",
    "还凑合",
    "马马虎虎",
    "过得去",
    "将就",
    "还好",
    "尚可",
    "差不多",
    "基本解决",
    "部分解决",
    "解决了一部分",
    "有待改进",
    "有待提高",
    "及格",
    "勉强",
    "还成",
    "soso",
)
_add(
    DIS,
    COMMENT,
    "没解决",
    "没有解决",
    "未解决",
    "不解决",
    "解决不了",
    "没能解决",
    "没处理",
    "没有处理",
    "未处理",
    "不处理",
    "没人管",
    "没人处理",
    "没人来",
    "没人联系",
    "没联系",
    "没有联系",
    "没见人",
    "没来",
    "没回复",
    "没有回复",
    "没人回",
    "差评",
    "太差",
    "很差",
    "真差",
    "差劲",
    "不行",
    "不太行",
    "太慢",
    "很慢",
    "慢死",
    "拖了",
    "推诿",
    "踢皮球",
    "敷衍",
    "应付",
    "不作为",
    "乱作为",
    "态度差",
    "态度不好",
    "态度恶劣",
    "没用",
    "没效果",
    "没有效果",
    "没变化",
    "没有变化",
    "还是一样",
    "依旧",
    "依然",
    "仍然",
    "照旧",
    "又开始",
    "糊弄",
    "不认可",
    "不同意",
    "不靠谱",
    "失望",
    "垃圾",
    "不负责",
    "不好",
    "不太好",
    "不怎么样",
    "官僚",
    "形式主义",
    "走过场",
    "骗人",
    "0分",
    "零分",
    "一星",
    "1星",
    "bad",
    "terrible",
    "useless",
)
_add(
    SAT,
    COURTESY,
    "谢谢",
    "感谢",
    "多谢",
    "辛苦",
    "辛苦了",
    "好的",
    "好",
    "行",
    "可以",
    "ok",
    "okay",
    "thanks",
    "thankyou",
    "yes",
)
_add(DIS, COURTESY, "投诉", "还在", "呵呵", "算了", "唉")

# Longest first: a longer phrase is consumed before the shorter ones inside it can match.
_ORDERED = sorted(_WORDS, key=len, reverse=True)

_EMOJI = {
    **dict.fromkeys("👍👏😊😀😃😄😁🙂🥰☺❤♥🌹💯💐👌", (SAT, COMMENT)),
    **dict.fromkeys("🙏", (SAT, COURTESY)),
    **dict.fromkeys("😐😑", (BASIC, COMMENT)),
    **dict.fromkeys("👎😡😠🤬💢😤😒🙄", (DIS, COMMENT)),
    **dict.fromkeys("😞😢😭😔", (DIS, COURTESY)),
}

_OPTIONS = {"1": SAT, "2": BASIC, "3": DIS, "一": SAT, "二": BASIC, "三": DIS}
# A number followed by one of these is a quantity in a sentence ("3天了", "一个月"), not an option.
_COUNTED = (
    "个",
    "天",
    "日",
    "月",
    "年",
    "次",
    "遍",
    "周",
    "号",
    "点",
    "小时",
    "分钟",
    "星期",
    "礼拜",
    "多",
    "位",
    "家",
    "趟",
)
_PREFIXES = ("我选择", "我选", "选择", "回复", "选", "答", "评价")
_OPT_OUT_PARTS = re.compile(r"退订|退定|取消订阅|取消短信|td$|^td")
_QUESTION = re.compile(r"[?？]|吗$|什么|怎么|是谁|哪里|哪个")


@dataclass(frozen=True)
class Reading:
    """What a reply says: an answer (a ``FollowupAnswer`` value) or None when unclear, and why."""

    answer: str | None
    opt_out: bool
    why: str

    @property
    def clear(self) -> bool:
        return self.answer is not None


def _words(bare: str) -> list[tuple[str, str, int]]:
    hits = []
    rest = bare
    for word in _ORDERED:
        if word in rest:
            count = rest.count(word)
            answer, weight = _WORDS[word]
            hits.extend([(word, answer, weight)] * count)
            rest = rest.replace(word, "|")
    return hits


def _decide(hits: list[tuple[str, str, int]]) -> tuple[str | None, str]:
    for weight in (RATING, COMMENT, COURTESY):
        level = [(word, answer) for word, answer, w in hits if w == weight]
        if not level:
            continue
        answers = {answer for _, answer in level}
        words = "、".join(dict.fromkeys(word for word, _ in level))
        if len(answers) == 1:
            return answers.pop(), f"关键词“{words}”"
        if answers == {SAT, BASIC}:
            return BASIC, f"关键词“{words}”"
        return None, f"含义矛盾（“{words}”）"
    return None, "未包含评价内容"


def read_reply(text: str) -> Reading:
    """Read one reply. Never raises; anything it cannot read is ``answer=None`` with the reason."""
    opt_out = is_opt_out(text)
    normal = normalise(text)
    bare = _OPT_OUT_PARTS.sub("", compact(text))
    emoji_hits = [(ch, *_EMOJI[ch]) for ch in normal if ch in _EMOJI]
    if not bare and not emoji_hits:
        return Reading(None, opt_out, "仅退订" if opt_out else "空白回复")
    # 1. A bare option number.
    option = bare
    for prefix in _PREFIXES:
        if option.startswith(prefix) and len(option) > len(prefix):
            option = option[len(prefix) :]
            break
    if option and len(set(option)) == 1 and len(option) <= 3 and option[0] in _OPTIONS:
        return Reading(_OPTIONS[option[0]], opt_out, f"选项“{option[0]}”")
    if (
        option
        and option[0] in "123"  # 一/二/三 start words (一般, 一直, 三番五次): only a bare one is an option
        and len(option) > 1
        and not option[1].isdigit()
        and not option[1:].startswith(_COUNTED)
    ):
        meant = _OPTIONS[option[0]]
        # The option is the rating; words after it are a comment ("2，太慢了") unless they are a rating
        # of their own that disagrees ("1不满意"), which a person must sort out.
        rated = {answer for _, answer, weight in _words(option[1:]) if weight == RATING}
        if rated and rated != {meant}:
            return Reading(None, opt_out, f"选项“{option[0]}”与文字不一致")
        return Reading(meant, opt_out, f"选项“{option[0]}”")
    # 2. Words (and emoji).
    hits = _words(bare) + emoji_hits
    answer, why = _decide(hits)
    # 3. A question is not an answer unless it carries a rating word.
    if _QUESTION.search(normal) and not any(w == RATING for _, _, w in hits):
        return Reading(None, opt_out, "群众提出疑问")
    return Reading(answer, opt_out, why)
