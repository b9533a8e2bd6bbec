"""Health endpoint: answers 200 when the database answers, and reports background heartbeats."""

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from minsheng.core.models import Heartbeat

STALE_AFTER_S = 180


@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not ok"
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
    now = timezone.now()
    beats = {}
    for beat in Heartbeat.objects.all():
        age = (now - beat.seen_at).total_seconds()
        beats[beat.name] = {
            "seen_at": beat.seen_at.isoformat(),
            "age_s": round(age),
            "alive": age < STALE_AFTER_S,
        }
    return JsonResponse(
        {"status": "ok", "database": connection.vendor, "time": now.isoformat(), "processes": beats}
    )
