"""Test set-up shared by every app: the Jinan organisation and the fixed cast, loaded once per database."""

import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command


def pytest_configure(config):
    # Hashing is not what these tests test; the fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests start from the cold start (keyword rules), never from a model installed under var/.
    settings.CLASSIFIER_MODEL = str(Path(tempfile.mkdtemp(prefix="minsheng-models-")) / "category.model")
    # Nor from a duplicate-index snapshot of a development database.
    settings.DEDUP_INDEX_DIR = tempfile.mkdtemp(prefix="minsheng-dedup-")


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


@pytest.fixture(autouse=True)
def fresh_duplicate_index():
    """Each test's database starts its own journal: an index held over from another test would hold
    appeals that this test's database does not have."""
    from minsheng.dedup import service

    service.reset()
    yield
    service.reset()
