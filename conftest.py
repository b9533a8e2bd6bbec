"""Test set-up shared by every app: the Jinan organisation and the fixed cast, loaded once per database."""

import pytest
from django.conf import settings
from django.core.management import call_command


def pytest_configure(config):
    # Hashing is not what these tests test; the fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def load_world():
    """Load the organisation, categories and demo cast (idempotent)."""
    from minsheng.accounts.demo import ensure_demo_accounts

    call_command("load_org", "jinan", verbosity=0, stdout=open("/dev/null", "w"))
    ensure_demo_accounts()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_world()


@pytest.fixture
def world(transactional_db):
    """For transactional tests (a flush empties the tables): load the world again."""
    load_world()
