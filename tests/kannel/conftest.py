"""A real Kannel (bearerbox + smsbox + fakesmsc) per test, calling back into the live test server.

Kannel is a Debian package (``apt-get install -y kannel kannel-extras``): CI installs it; elsewhere the
tests are skipped when it is missing. On CI (``CI`` set) a missing Kannel is a failure, not a skip.
"""

import os
import secrets
import threading
import time
from contextlib import contextmanager

import pytest

from tests.kannel import harness


@pytest.fixture(scope="session")
def kannel_binaries():
    if not harness.available():
        if os.environ.get("CI"):
            pytest.fail("Kannel is missing: CI installs the Debian packages kannel and kannel-extras")
        pytest.skip("Kannel is not installed (apt-get install -y kannel kannel-extras)")


def mo_url(base: str, secret: str) -> str:
    """Kannel's get-url for replies, as an operator would configure it (see README)."""
    return f"{base}/sms/kannel/mo?k={secret}&from=%p&to=%P&text=%a&coding=%c&charset=%C&smsc=%i&ts=%t&id=%I"


# The test database of a SQLite run is in memory, and the live server's threads share the test's one
# connection to it: two threads must never use it at once (Django's documented caveat), or SQLite
# answers "database table is locked". Kannel calls back while the test's sender is working, so the
# live server handles each request under this lock, and the tests take it around their own database
# work (``serialised``). On PostgreSQL it costs nothing that matters.
DB_LOCK = threading.RLock()


@contextmanager
def serialised():
    with DB_LOCK:
        yield


class _Serialised:
    """A WSGI app run entirely (body included) under ``DB_LOCK``."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        with DB_LOCK:
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()


@pytest.fixture
def serialised_live_server(live_server):
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    httpd.set_app(_Serialised(app))
    yield live_server
    httpd.set_app(app)


@pytest.fixture
def kannel(kannel_binaries, serialised_live_server, settings, tmp_path, world):
    """The chain, with the platform's settings pointing at it and its callbacks at the live server.

    Quiet hours are off: these tests send at whatever time the suite runs.
    """
    secret = secrets.token_hex(12)
    live_server = serialised_live_server
    chain = harness.KannelChain(tmp_path / "kannel", mo_url=mo_url(live_server.url, secret)).start()
    for name, value in chain.django_settings().items():
        setattr(settings, name, value)
    settings.KANNEL_CALLBACK_SECRET = secret
    settings.KANNEL_CALLBACK_URL = live_server.url
    settings.SMS_SIMULATOR = False
    settings.SMS = {
        **settings.SMS,
        "QUIET_HOURS": ["00:00", "00:00"],
        "GATEWAY_BACKOFF_S": 1,
        "GATEWAY_BACKOFF_MAX_S": 2,
    }
    yield chain
    chain.stop()


def wait_for(condition, timeout: float = 15.0, interval: float = 0.1):
    """Poll until ``condition()`` is truthy; returns its value (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with DB_LOCK:
            value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {condition.__doc__ or condition}")
        time.sleep(interval)
