"""What every SMS transport implements, and the errors that tell the sender what to do next."""

from dataclasses import dataclass
from enum import Enum


class SendError(Exception):
    """A send that did not end in "accepted"."""


class GatewayUnavailable(SendError):
    """The gateway could not be reached, or refused us as a whole (down, wrong credentials).

    The request certainly did not deliver this message, and it is not the message's fault: it goes
    back to the queue without using up an attempt, and the sender backs off for all messages.
    """


class TransientError(SendError):
    """The gateway answered that this message failed for now (5xx, queue full): retry with back-off."""


class PermanentError(SendError):
    """The gateway refused this message for good (bad number, malformed): do not retry."""


class InDoubt(SendError):
    """The request may have reached the gateway but no answer came back (timeout, reset after
    sending). Re-sending could deliver twice, so the message is resolved against the gateway."""


class Verdict(Enum):
    ACCEPTED = "accepted"  # the gateway has the message: do not send again
    ABSENT = "absent"  # the gateway has no trace of it: safe to send again
    UNKNOWN = "unknown"  # cannot tell now (gateway unreachable): ask again later


@dataclass(frozen=True)
class SendResult:
    response: str = ""
    delivered: bool = False  # the transport itself confirms delivery (simulator)


class Backend:
    """One transport. ``send`` is called from one thread at a time per instance."""

    name = "base"
    # Whether delivery reports will come back on their own (else "sent" is as far as a message gets).
    reports_delivery = False

    def send(self, message) -> SendResult:
        raise NotImplementedError

    def resolve(self, messages: list) -> dict[int, Verdict]:
        """For in-doubt messages: does the gateway have them? Transports that cannot be in doubt
        (no network between us and them) answer ABSENT."""
        return {m.pk: Verdict.ABSENT for m in messages}

    def close(self) -> None:
        pass
