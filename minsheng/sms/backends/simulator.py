"""The demo transport: every SMS "reaches" the phone at once; the phone simulator page shows it.

No network: a message is delivered as soon as it is sent, and the simulator page lets staff answer as
the citizen through the same reply handling as a real gateway (``sms.inbound.receive``).
"""

from minsheng.sms.backends.base import Backend, SendResult


class SimulatorBackend(Backend):
    name = "simulator"
    reports_delivery = True

    def send(self, message) -> SendResult:
        return SendResult(response="simulated", delivered=True)
