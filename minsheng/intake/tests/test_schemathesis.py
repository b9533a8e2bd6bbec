"""Schemathesis against the published OpenAPI schema of the intake endpoints: no input gives a 5xx.

Bounded (a few dozen examples per operation) so it fits in ``make test``; it runs in-process through
the WSGI application on the test database.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from minsheng.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=r"^/api/v1/intake/")


def no_server_error(response, case):
    assert response.status_code < 500, (
        f"{case.method} {case.path} → {response.status_code}: {response.text[:300]}"
    )


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler closes the database
    connection: inside the test's transaction that would end it. Django's test client detaches the
    handler the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_intake_endpoints_never_fail_with_5xx(case):
    from minsheng.intake.models import Partner

    Partner.objects.get_or_create(code="jn12345", defaults={"name": "12345", "channel": "hotline_12345"})
    response = case.call()
    no_server_error(response, case)
