from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "minsheng.followup"
    label = "followup"
    verbose_name = "一线回访"

    def ready(self) -> None:
        from minsheng.followup import flow, texts  # noqa: F401  (registers the SMS texts)
        from minsheng.sms import inbound, outbox

        inbound.register_handler(flow.handle_reply)
        outbox.register_guard(flow.CASE_PURPOSE, flow.unwanted_case_messages)
        outbox.register_guard(flow.SERVICE_PURPOSE, flow.unwanted_service_messages)
