"""Signed work-order pushes answered beside Django's request stack, not through it.

A partner's push is the busiest request the platform serves (a 12345 centre sends hundreds a minute, a
backlog thousands at once), and what it needs is small: its signature checked, its bytes committed,
an answer. Through Django's middleware, URL resolver and DRF it cost about twice the CPU of that work
itself (``bench/intake.py``; README "Intake"). So the WSGI application (``minsheng.wsgi``) hands a
``POST`` to the work-order push URL to ``WorkOrderPushView.receive`` directly: the same function the
DRF view calls, on a real ``WSGIRequest``, so the host is validated, the body read and its size limit
applied exactly as there. Sessions, CSRF, messages, locale and login lock-outs mean nothing to a
request authenticated by its signature; the security headers the middleware would add are added here.

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
from django.urls import get_script_prefix, reverse
from rest_framework.utils.encoders import JSONEncoder

from minsheng.intake.api import WorkOrderPushView, request_meta

log = logging.getLogger(__name__)


class PushFastPath:
    """WSGI middleware in front of Django's application (see the module's docstring)."""

    def __init__(self, app):
        self.app = app
        self.view = WorkOrderPushView()
        self._path: re.Pattern | None = None
        self._headers: list[tuple[str, str]] | None = None

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
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(content))),
                *self._security_headers(request),
            ]
            start_response(f"{status} {HTTPStatus(status).phrase}", headers)
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

    def _security_headers(self, request: WSGIRequest) -> list[tuple[str, str]]:
        """The headers ``SecurityMiddleware`` and ``XFrameOptionsMiddleware`` put on every answer, the
        ``Vary`` and ``Allow`` that DRF adds, and the language (the messages are Chinese whatever the
        partner's ``Accept-Language``)."""
        if self._headers is None:
            headers = [
                ("Vary", "Accept, Accept-Language"),
                ("Allow", "POST, OPTIONS"),
                ("Content-Language", settings.LANGUAGE_CODE),
            ]
            if settings.X_FRAME_OPTIONS:
                headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
            if settings.SECURE_CONTENT_TYPE_NOSNIFF:
                headers.append(("X-Content-Type-Options", "nosniff"))
            policy = settings.SECURE_REFERRER_POLICY
            if policy:
                value = policy if isinstance(policy, str) else ",".join(policy)
                headers.append(("Referrer-Policy", ",".join(v.strip() for v in value.split(","))))
            if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
                headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
            self._headers = headers
        if settings.SECURE_HSTS_SECONDS and request.is_secure():
            value = f"max-age={settings.SECURE_HSTS_SECONDS}"
            if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                value += "; includeSubDomains"
            if settings.SECURE_HSTS_PRELOAD:
                value += "; preload"
            return [*self._headers, ("Strict-Transport-Security", value)]
        return self._headers
