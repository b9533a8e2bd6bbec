"""Keyword rules: the classifier of a new installation, before any staff-confirmed labels exist.

Each leaf category of the default tree (:data:`minsheng.categories.defaults.DEFAULT_TREE`) has a list
of words that citizens use for it. A text scores, per category, the sum of the weights of the
distinct keywords it contains (longer keywords are more specific and weigh more); the best category
wins. ``other`` has no keywords: it is what is left when nothing matches.

The confidence is deliberately modest (at most 0.95) and grows with the evidence and with the
margin over the runner-up; it is not calibrated like the statistical model's.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence

from minsheng.categories.defaults import DEFAULT_TREE

from .base import Prediction

# Space-separated keywords per category. Order matters only for ties: earlier entries win.
_KEYWORD_TEXT: dict[str, str] = {
    # 治安
    "noise": (
        "噪音 噪声 扰民 吵闹 太吵 很吵 吵得 吵人 广场舞 音响 喇叭 大声喧哗 装修声 夜间施工 半夜施工 施工噪 "
        "鸣笛 ktv"
    ),
    "neighbour_dispute": "邻居 邻里 纠纷 吵架 楼上 楼下 对门 隔壁 矛盾 占用楼道 漏水",
    "vice": "赌博 聚赌 赌场 涉赌 老虎机 卖淫 嫖娼 色情 涉黄 黄赌毒 吸毒 贩毒 毒品 制毒",
    "security_hazard": (
        "治安隐患 安全隐患 隐患 治安 可疑人员 陌生人 巡逻 监控 摄像头 不安全 闲散人员 醉酒 砸车"
    ),
    "fraud": "诈骗 骗子 被骗 骗了 骗走 转账 汇款 刷单 冒充 假客服 网贷 杀猪盘 投资理财 中奖 验证码",
    "theft": "被偷 偷了 偷走 小偷 盗窃 被盗 失窃 扒手 偷盗 入室",
    # 交通管理
    "illegal_parking": (
        "违停 违章停车 乱停 乱停车 乱停乱放 占道停车 停车占道 挡住 堵门 僵尸车 人行道上停 车位被占 "
        "占用消防通道"
    ),
    "congestion": "拥堵 堵车 交通堵塞 塞车 通行缓慢 早高峰 晚高峰 高峰期 堵死",
    "traffic_accident": "交通事故 车祸 追尾 被撞 撞了 剐蹭 肇事 逃逸 定责 事故认定",
    "traffic_facility": (
        "红绿灯 信号灯 斑马线 人行横道 标线 标志牌 限速 减速带 电子眼 交通设施 掉头 左转 护栏"
    ),
    # 车驾管
    "vehicle_registration": (
        "上牌 车牌 号牌 过户 机动车登记 行驶证 年检 年审 临牌 临时号牌 检验合格标志 抵押登记 报废 选号"
    ),
    "driving_licence": "驾驶证 驾照 驾考 科目一 科目二 科目三 科目四 扣分 驾校 换证 满分学习 审验 考驾照",
    # 户政
    "hukou": "户口 落户 迁户 户籍 入户 分户 户口本 集体户 投靠 出生登记 上户 销户 迁入 迁出 更改姓名 改名",
    "id_card": "身份证 补办身份证 换领 临时身份证 身份证号 二代证",
    "residence_permit": "居住证 暂住证 居住登记 流动人口登记",
    # 出入境 (签注 is mostly for 港澳 travel permits; both lists have it and a tie goes to passport)
    "passport": "护照 出入境 签注 签证 出国 出境 入境",
    "hk_macao_taiwan": "港澳通行证 通行证 往来港澳 香港 澳门 台湾 赴台 台胞证 港澳台 签注",
    # 刑事案件与举报
    "crime_report": (
        "举报 违法犯罪 犯罪 传销 黑社会 涉黑 涉恶 非法集资 高利贷 套路贷 放贷 枪支 团伙 殴打 打人 敲诈 "
        "勒索 故意伤害"
    ),
    "case_progress": "案件进展 立案 报案 结案 破案 办案 案子 不予立案 受案回执 进展 追回 嫌疑人",
    # 求助
    "missing_person": "走失 失联 寻人 找人 失踪 离家出走 联系不上 下落不明 走丢 找不到人",
    "lost_property": "丢失 遗失 丢了 捡到 拾到 失物 落在 钱包 遗落",
    "unlock": "开锁 锁在 钥匙 被锁 打不开 被困 受困 救助 求助",
    # 投诉民警/警务督察
    "conduct": (
        "服务态度 态度恶劣 态度差 不作为 推诿 刁难 工作作风 敷衍 不理睬 吃拿卡要 投诉民警 投诉辅警 玩手机 "
        "不耐烦"
    ),
    "law_enforcement": "执法 乱罚款 罚款 乱扣 暴力执法 执法不公 钓鱼执法 徇私 包庇 处罚不当 扣押 违规处罚",
    "praise": "表扬 锦旗 感谢信 点赞 致谢 赞扬 好民警 好警察 感谢民警 感谢派出所",
    # Generic kinds: only when no topic matches (see GENERIC).
    "consultation": "咨询 请问 怎么办理 如何办理 需要什么材料 需要哪些材料 流程 哪里办 能否 是否可以",
    "suggestion": "建议 提议 希望增加 增设 改进 意见",
}
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    code: tuple(text.split()) for code, text in _KEYWORD_TEXT.items()
}

# Words like 咨询/建议 accompany almost every topic ("请问办理护照需要什么材料"): the topic wins,
# and these categories are chosen only when no topic keyword matches at all.
GENERIC = frozenset({"consultation", "suggestion"})
MAX_CONFIDENCE = 0.95


def leaf_codes() -> list[str]:
    """Codes of the default tree's leaves (a top-level node without children is a leaf)."""
    codes = []
    for code, _name, _kind, _handler, children in DEFAULT_TREE:
        if children:
            codes.extend(child[0] for child in children)
        else:
            codes.append(code)
    return codes


def _weight(keyword: str) -> float:
    return 0.5 if len(keyword) == 1 else 1.0 if len(keyword) == 2 else 1.5


class RuleClassifier:
    """Keyword rules → category code. Implements :class:`~.base.Classifier`."""

    def __init__(
        self, keywords: Mapping[str, Sequence[str]] | None = None, *, fallback: str = "other"
    ) -> None:
        table = DEFAULT_KEYWORDS if keywords is None else keywords
        self.fallback = fallback
        self._rules: list[tuple[str, list[tuple[str, float]]]] = []
        for code, words in table.items():
            norm = {self._normalise(w) for w in words if w.strip()}
            self._rules.append((code, [(w, _weight(w)) for w in sorted(norm)]))
        # Each keyword under its first two characters: a text is searched only for the keywords that
        # begin with one of its own pairs of characters (a median of 4 of the 306 for the Teddy Cup
        # messages).
        self._by_start: dict[str, list[tuple[int, int]]] = {}
        self._short: list[tuple[int, int]] = []  # one-character keywords: looked for in every text
        for i, (_, words) in enumerate(self._rules):
            for j, (word, _) in enumerate(words):
                if len(word) < 2:
                    self._short.append((i, j))
                else:
                    self._by_start.setdefault(word[:2], []).append((i, j))

    @staticmethod
    def _normalise(text: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()

    def scores(self, text: str) -> dict[str, float]:
        """Per-category evidence: the summed weights of the distinct keywords found."""
        norm = self._normalise(text or "")
        found: dict[int, list[int]] = {}
        for start in {norm[k : k + 2] for k in range(len(norm) - 1)}:
            for i, j in self._by_start.get(start, ()):
                if self._rules[i][1][j][0] in norm:
                    found.setdefault(i, []).append(j)
        for i, j in self._short:
            if self._rules[i][1][j][0] in norm:
                found.setdefault(i, []).append(j)
        out = {}
        for i in sorted(found):  # the table's order, and each category's keywords in theirs
            code, words = self._rules[i]
            score = sum(words[j][1] for j in sorted(found[i]))
            if score:
                out[code] = score
        return out

    def classify(self, text: str, scores: dict[str, float] | None = None) -> Prediction | None:
        """The best category and a confidence, or ``None`` when no keyword matches. ``scores``: the
        text's ``scores``, when the caller has them already."""
        scores = self.scores(text) if scores is None else scores
        topical = {code: score for code, score in scores.items() if code not in GENERIC}
        scores = topical or scores
        if not scores:
            return None
        # max() keeps the first of equal scores, i.e. table order breaks ties.
        best = max(scores, key=scores.__getitem__)
        top = scores[best]
        runner_up = max((s for c, s in scores.items() if c != best), default=0.0)
        share = top / (top + runner_up)
        strength = 1.0 - math.exp(-top)
        return best, round(min(MAX_CONFIDENCE, share * strength), 4)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One prediction per text; texts without any keyword get ``(fallback, 0.0)``."""
        return [self.classify(t) or (self.fallback, 0.0) for t in texts]
