"""Requests to the WSGI application as gunicorn runs it (``minsheng.wsgi``: the push fast path in front
of Django), for tests that must hold on both paths. Django's test client goes through Django's
handler only."""

from __future__ import annotations

import io
import json
from functools import cache

from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils.datastructures import CaseInsensitiveMapping

from minsheng.intake.fastpath import PushFastPath


@cache
def application() -> PushFastPath:
    # As minsheng.wsgi builds it, without its warm-up (the tests load the tables as they need them).
    return PushFastPath(WSGIHandler())


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], content: bytes):
        self.status_code = int(status.split(" ", 1)[0])
        self.reason = status.split(" ", 1)[1]
        self.headers = CaseInsensitiveMapping(dict(headers))
        self.content = content

    def json(self):
        return json.loads(self.content)

    def __getitem__(self, header: str) -> str:
        return self.headers[header]


class WsgiClient:
    """``post`` as ``django.test.Client.post`` takes it (raw bytes with a content type, ``HTTP_*``
    headers as keyword arguments). ``app``: another application than the shared one (one built under
    settings a test changed); ``secure``: over HTTPS."""

    def __init__(self, app=None, secure: bool = False):
        self.app = app
        self.secure = secure

    def post(self, path: str, data: bytes = b"", content_type: str = "application/octet-stream", **extra):
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "443" if self.secure else "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "https" if self.secure else "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **extra,
        }
        answer: dict = {}

        def start_response(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)

        # As Django's test client does: the test's transaction holds the connection, which a request
        # must not close.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            result = (self.app or application())(environ, start_response)
            try:
                content = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return Response(answer["status"], answer["headers"], content)
