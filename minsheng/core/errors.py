"""Errors of business actions, each with a stable code for the API and a Chinese message for people."""


class ActionError(Exception):
    code = "action_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ActionError):
    code = "invalid"
    http_status = 400


class Forbidden(ActionError):
    code = "forbidden"
    http_status = 403


class InvalidTransition(ActionError):
    code = "invalid_state"
    http_status = 409


class ConcurrentChange(ActionError):
    """Someone else changed the case between reading and writing it."""

    code = "conflict"
    http_status = 409
