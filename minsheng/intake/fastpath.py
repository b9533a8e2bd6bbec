"""Signed work-order pushes answered beside Django's request stack, not through it.

A partner's push is the busiest request the platform serves (a 12345 centre sends hundreds a minute, a
backlog thousands at once), and what it needs is small: its signature checked, its bytes committed,
an answer. Through Django's middleware, URL resolver and DRF it cost about twice the CPU of that work
itself (``bench/intake.py``; README "Intake"). So the WSGI application (``minsheng.wsgi``) hands a
``POST`` to the work-order push URL to ``WorkOrderPushView.receive`` directly: the same function the
DRF view calls, on a real ``WSGIRequest``, so the host is validated, the body read and its size limit
applied exactly as there. Sessions, CSRF, messages, locale and login lock-outs mean nothing to a
request authenticated by its signature; the security headers are added by the security middlewares'
own ``process_response``.

Anything out of the ordinary goes to Django unchanged: another URL or method, a host not allowed, a
body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a plain-HTTP request that must be redirected to HTTPS.
The tests of the push endpoint run through both paths (``intake/tests/test_push.py``).
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import get_script_prefix, reverse
from rest_framework.utils.encoders import JSONEncoder

from minsheng.intake.api import WorkOrderPushView, request_meta

log = logging.getLogger(__name__)


def _unused(request):  # the middlewares' get_response: only their process_response is called
    raise AssertionError("not called")


class PushFastPath:
    """WSGI middleware in front of Django's application (see the module's docstring)."""

    def __init__(self, app):
        self.app = app
        self.view = WorkOrderPushView()
        self._path: re.Pattern | None = None
        # Django's own, for the headers they put on every answer (HSTS, nosniff, Referrer-Policy,
        # Cross-Origin-Opener-Policy, X-Frame-Options): the same settings give the same headers.
        self._security = [SecurityMiddleware(_unused), XFrameOptionsMiddleware(_unused)]

    def __call__(self, environ, start_response):
        code = self._code(environ)
        if code is None:
            return self.app(environ, start_response)
        request = WSGIRequest(environ)  # reads nothing yet
        if not self._plain(request):
            return self.app(environ, start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            try:
                status, answer = self.view.receive(code, request.body, request.headers, request_meta(request))
            except Exception:
                log.exception("push to %s failed", environ.get("PATH_INFO"))
                status, answer = 500, {"code": "server_error", "message": "服务器内部错误，请稍后重试"}
            content = json.dumps(answer, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()
            response = HttpResponse(content, status=status, content_type="application/json")
            response["Content-Length"] = str(len(content))
            # What DRF and the locale middleware add, then the security middleware's own headers.
            response["Vary"] = "Accept, Accept-Language"
            response["Allow"] = "POST, OPTIONS"
            response["Content-Language"] = settings.LANGUAGE_CODE  # the messages are Chinese
            for middleware in self._security:
                response = middleware.process_response(request, response)
            start_response(f"{status} {HTTPStatus(status).phrase}", list(response.items()))
            return [content]
        finally:
            signals.request_finished.send(sender=self.__class__)

    def _code(self, environ) -> str | None:
        """The partner code when this is a POST to the work-order push URL, else None."""
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        if self._path is None:
            # The URL as the URL configuration has it, reversed once with a marker for the code; without
            # the script prefix, as PATH_INFO comes.
            url = "/" + reverse("api:push-work-order", kwargs={"code": "CODE"})[len(get_script_prefix()) :]
            self._path = re.compile(re.escape(url).replace("CODE", r"(?P<code>[-a-zA-Z0-9_]+)") + r"\Z")
        found = self._path.match(environ.get("PATH_INFO", ""))
        return found["code"] if found else None

    @staticmethod
    def _plain(request: WSGIRequest) -> bool:
        """Whether nothing about the request needs Django's own answer (see the module's docstring)."""
        try:
            request.get_host()
        except DisallowedHost:
            return False
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        if limit is not None and length > limit:
            return False
        return not (settings.SECURE_SSL_REDIRECT and not request.is_secure())
