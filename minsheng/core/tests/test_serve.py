"""``minsheng serve`` starts the web app, the background workers and the scheduler, and stops them all
when one dies. No process is really started here: ``Popen`` is replaced by one that records the command
and exits at once, which makes ``serve`` stop everything."""

import subprocess

import pytest
from django.core.management import call_command
from django.db import connection


class _Exited:
    started: list[list[str]] = []

    def __init__(self, command, *args, **kwargs):
        self.started.append(command)
        self.returncode = 1

    def poll(self):
        return self.returncode

    def terminate(self):  # pragma: no cover - serve stops only processes still running
        pass

    def wait(self, timeout=None):
        return self.returncode


def _serve(monkeypatch, *args) -> list[list[str]]:
    _Exited.started = []
    monkeypatch.setattr(subprocess, "Popen", _Exited)
    with pytest.raises(SystemExit) as stopped:
        call_command("serve", *args)
    assert stopped.value.code == 1, "a process that dies stops the platform"
    return _Exited.started


def _workers(started: list[list[str]]) -> list[list[str]]:
    return [command for command in started if "db_worker" in command]


@pytest.mark.django_db
def test_serve_runs_two_niced_workers_on_postgresql_and_one_on_sqlite(monkeypatch):
    monkeypatch.delenv("BG_WORKERS", raising=False)
    started = _serve(monkeypatch, "--port", "8999")
    workers = _workers(started)
    assert len(workers) == (2 if connection.vendor == "postgresql" else 1)
    assert all(command[:3] == ["nice", "-n", "10"] for command in workers), "requests come first"
    assert any("gunicorn" in command[0] for command in started)
    assert any("scheduler" in command for command in started)


@pytest.mark.django_db
def test_the_number_of_workers_is_chosen_by_option_or_environment(monkeypatch):
    assert len(_workers(_serve(monkeypatch, "--bg-workers", "3"))) == 3
    monkeypatch.setenv("BG_WORKERS", "1")
    assert len(_workers(_serve(monkeypatch))) == 1
