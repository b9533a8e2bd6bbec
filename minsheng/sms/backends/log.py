"""Development transport: writes each SMS to the log and counts it as sent."""

import logging

from minsheng.sms.backends.base import Backend, SendResult

log = logging.getLogger("minsheng.sms")


class LogBackend(Backend):
    name = "log"

    def send(self, message) -> SendResult:
        log.info("SMS to %s (%d part(s)): %s", message.masked_phone, message.segments, message.body)
        return SendResult(response="logged")
