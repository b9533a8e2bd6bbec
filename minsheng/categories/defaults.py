"""The default police category tree loaded for a new installation and for the demo.

Each entry: (code, name, kind, handler unit function (``units.UnitFunction``), children).
Deadlines follow the kind unless a category overrides them (admins edit both). ``handler`` names the
kind of unit that normally handles the category; routing rules refine it per jurisdiction.
"""

# kind → (completion deadline in working days, follow-up applies)
KIND_DEFAULTS = {
    "consultation": (1, True),
    "help": (3, True),
    "complaint": (5, True),
    "report": (5, True),
    "suggestion": (5, True),
    "praise": (5, False),
    "other": (5, True),
}

DEFAULT_TREE = [
    (
        "public_order",
        "治安",
        "complaint",
        "station",
        [
            ("noise", "噪音扰民", "complaint", "station"),
            ("neighbour_dispute", "邻里纠纷", "complaint", "station"),
            ("vice", "黄赌毒", "report", "station"),
            ("security_hazard", "治安隐患", "report", "station"),
            ("fraud", "电信网络诈骗", "report", "station"),
            ("theft", "盗窃", "report", "station"),
        ],
    ),
    (
        "traffic",
        "交通管理",
        "complaint",
        "traffic",
        [
            ("illegal_parking", "违停", "complaint", "traffic"),
            ("congestion", "拥堵", "complaint", "traffic"),
            ("traffic_accident", "事故", "help", "traffic"),
            ("traffic_facility", "交通设施", "suggestion", "traffic"),
        ],
    ),
    (
        "vehicle_licence",
        "车驾管",
        "consultation",
        "vehicle_admin",
        [
            ("vehicle_registration", "机动车登记", "consultation", "vehicle_admin"),
            ("driving_licence", "驾驶证", "consultation", "vehicle_admin"),
        ],
    ),
    (
        "household",
        "户政",
        "consultation",
        "station",
        [
            ("hukou", "户口", "consultation", "station"),
            ("id_card", "身份证", "consultation", "station"),
            ("residence_permit", "居住证", "consultation", "station"),
        ],
    ),
    (
        "exit_entry",
        "出入境",
        "consultation",
        "exit_entry",
        [
            ("passport", "护照", "consultation", "exit_entry"),
            ("hk_macao_taiwan", "港澳台通行证", "consultation", "exit_entry"),
        ],
    ),
    (
        "criminal",
        "刑事案件与举报",
        "report",
        "station",
        [
            ("crime_report", "违法犯罪线索", "report", "station"),
            ("case_progress", "案件进展", "consultation", "station"),
        ],
    ),
    (
        "help",
        "求助",
        "help",
        "station",
        [
            ("missing_person", "寻人", "help", "station"),
            ("lost_property", "失物", "help", "station"),
            ("unlock", "开锁及其他求助", "help", "station"),
        ],
    ),
    ("consultation", "咨询", "consultation", "station", []),
    ("suggestion", "建议", "suggestion", "station", []),
    (
        "police_conduct",
        "投诉民警/警务督察",
        "complaint",
        "inspection",
        [
            ("conduct", "工作作风", "complaint", "inspection"),
            ("law_enforcement", "执法问题", "complaint", "inspection"),
        ],
    ),
    ("praise", "表扬", "praise", "station", []),
    ("other", "其他", "other", "station", []),
]
