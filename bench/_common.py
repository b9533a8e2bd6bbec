"""Shared by the bench scripts: what machine a figure was measured on, and where figures are written."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _database() -> str:
    """The database the figures came from: asked of Django when it is set up, else read from the URL."""
    try:
        from django.conf import settings
        from django.db import connection

        if settings.configured:
            vendor = connection.display_name
            version = ".".join(str(part) for part in connection.get_database_version())
            return f"{vendor} {version}"
    except Exception:  # no Django, or no database reachable: fall back to the configured URL
        pass
    url = os.environ.get("DATABASE_URL", "")
    return url.split(":", 1)[0] if url else "sqlite"


def python_loop_ms(rounds: int = 5) -> float:
    """Best time of a fixed pure-Python loop (a million dict updates): how fast this machine runs
    Python right now. Shared virtual machines differ from day to day, by more than a change in the
    code: figures measured on different days compare only through this."""
    best = float("inf")
    for _ in range(rounds):
        counts: dict[int, int] = {}
        started = time.perf_counter()
        for i in range(1_000_000):
            counts[i & 1023] = counts.get(i & 1023, 0) + i
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "database": _database(),
        "python_loop_ms": python_loop_ms(),
    }


def write_result(name: str, figures: dict) -> Path:
    """Write ``bench/results/NAME.json`` (figures + machine + date) and print the figures."""
    out = {**figures, "machine": machine(), "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return path
