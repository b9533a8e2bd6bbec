"""Synthetic appeals for the classifier tests: three categories, made from phrase templates."""

import csv
import random

PLACES = ["幸福小区", "阳光花园", "泺口街道", "和平路", "建设新村", "滨河社区", "明湖小区", "东城家园"]
TOPICS = {
    "noise": {
        "titles": ["广场舞噪音扰民", "夜间施工太吵", "楼下音响声音太大", "KTV噪音扰民"],
        "details": [
            "每天晚上音响开得很大，老人孩子无法休息",
            "半夜还在施工，噪声严重影响睡眠",
            "广场舞喇叭声音太吵，多次沟通无果",
            "商铺门口大喇叭循环播放，吵得无法入睡",
        ],
    },
    "illegal_parking": {
        "titles": ["车辆乱停占道", "小区门口违停严重", "人行道停满车辆", "消防通道被占用停车"],
        "details": [
            "大量车辆长期乱停乱放，堵住出入口",
            "有车辆违章停车占用消防通道，存在隐患",
            "机动车停在人行道上，行人只能走机动车道",
            "路边占道停车导致早晚高峰通行困难",
        ],
    },
    "passport": {
        "titles": ["咨询办理护照", "护照过期如何换发", "出国签证材料咨询", "出入境业务办理时间"],
        "details": [
            "想了解办理护照需要带哪些材料，多久可以拿到",
            "护照快到期了，出境旅游前需要换发新护照",
            "出入境大厅排队时间太长，能否网上预约办理护照",
            "孩子出国留学需要办理护照和签证，请问流程",
        ],
    },
}


def synthetic_rows(per_class: int = 20, seed: int = 1) -> list[dict]:
    """Rows with 编号, 标题, 内容, 类别; every text distinct, classes interleaved."""
    rnd = random.Random(seed)
    rows = []
    for _ in range(per_class):
        for label, parts in TOPICS.items():
            place = rnd.choice(PLACES)
            title = f"{place}{rnd.choice(parts['titles'])}"
            detail = f"我住在{place}{rnd.randint(1, 30)}号楼，{rnd.choice(parts['details'])}，希望尽快处理。"
            rows.append({"编号": f"A{len(rows) + 1:04d}", "标题": title, "内容": detail, "类别": label})
    return rows


def write_csv(path, rows: list[dict], encoding: str = "utf-8") -> str:
    fields = list(rows[0]) if rows else ["编号", "标题", "内容", "类别"]
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)
