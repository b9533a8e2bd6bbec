"""API plumbing shared by every app: errors with a stable code and a human message."""

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from minsheng.core.errors import ActionError


def exception_handler(exc, context):
    """Every API error answers ``{"code": …, "message": …, "field"?: …}`` (plus DRF's details)."""
    if isinstance(exc, ActionError):
        body = {"code": exc.code, "message": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.http_status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        body = {"code": "invalid", "message": "输入有误", "errors": errors}
        if isinstance(errors, dict) and errors:
            # Name the first bad field in the message itself, so a log line alone says what was wrong.
            field, problems = next(iter(errors.items()))
            first = problems[0] if isinstance(problems, list) and problems else problems
            body["field"] = field
            body["message"] = f"{field}：{first}"
        response.data = body
    elif isinstance(exc, Http404 | exceptions.NotFound):
        response.data = {"code": "not_found", "message": "未找到或无权查看"}
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        response.data = {"code": code, "message": str(exc.detail)}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
        response.data["code"] = "throttled"
    return response
