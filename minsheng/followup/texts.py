"""The follow-up SMS texts (editable in 系统管理 → 短信模板; variables named as admins read them)."""

from minsheng.sms.texts import TextSpec, register

CASE = register(
    TextSpec(
        key="followup_case",
        name="工单办结回访",
        default=(
            "【济南公安】您反映的“{标题}”（工单号{工单编号}）已由{承办单位}办结，答复：{答复}"
            "请评价：回复1满意，2基本满意，3不满意。回复TD退订"
        ),
        variables={
            "标题": "诉求标题（20字以内）",
            "工单编号": "工单编号",
            "承办单位": "承办单位名称",
            "答复": "答复内容（60字以内）",
        },
        sample={
            "标题": "楼下烧烤店夜间噪音扰民",
            "工单编号": "202611270000123",
            "承办单位": "泺口派出所",
            "答复": "已约谈店主，责令其22时前停止营业。",
        },
    )
)
CASE_AGAIN = register(
    TextSpec(
        key="followup_case_again",
        name="重办后再次回访",
        default=(
            "【济南公安】您对工单{工单编号}的办理不满意，{承办单位}已重新办理，答复：{答复}"
            "请再次评价：回复1满意，2基本满意，3不满意。回复TD退订"
        ),
        variables={
            "标题": "诉求标题（20字以内）",
            "工单编号": "工单编号",
            "承办单位": "承办单位名称",
            "答复": "答复内容（60字以内）",
        },
        sample={
            "标题": "楼下烧烤店夜间噪音扰民",
            "工单编号": "202611270000123",
            "承办单位": "泺口派出所",
            "答复": "已联合城管再次检查，店主已签订承诺书。",
        },
    )
)
SERVICE = register(
    TextSpec(
        key="followup_service",
        name="110及窗口服务评价",
        default="【济南公安】您{日期}在{单位}办理的{业务}已完成，请评价本次服务：回复1满意，2基本满意，3不满意。回复TD退订",
        variables={
            "日期": "服务日期（如11月27日）",
            "单位": "服务单位",
            "业务": "业务名称（如110接处警、户口迁移）",
        },
        sample={"日期": "11月27日", "单位": "泺口派出所户籍室", "业务": "户口迁移"},
    )
)


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, with an ellipsis when cut: an SMS is not the place for the whole
    reply (the citizen has it in full elsewhere), and every 67 characters is another paid part."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
