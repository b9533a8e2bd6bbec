"""One follow-up request per appellant: the open-request constraint becomes per (case, number), each
request remembers the appeal its number came from and the round (completion) it belongs to.

Existing rows are backfilled: until now a case got exactly one request per completion, so a case's
requests are numbered as rounds in the order they were asked, and each points at the case's appeal with
the same number (the master first)."""

import django.db.models.deletion
from django.db import migrations, models

CHUNK = 1000
RANK = {"master": 0, "linked": 1}


def backfill(apps, schema_editor):
    FollowupRequest = apps.get_model("followup", "FollowupRequest")
    Appeal = apps.get_model("appeals", "Appeal")
    requests = (
        FollowupRequest.objects.exclude(case=None)
        .order_by("case_id", "created_at", "pk")
        .only("pk", "case_id", "phone")
    )
    current, round_no = None, 0
    chunk = []

    def flush(rows):
        if not rows:
            return
        appeals = {}
        candidates = Appeal.objects.filter(case_id__in={r.case_id for r in rows}).exclude(appellant_phone="")
        for appeal in sorted(
            candidates.only("pk", "case_id", "appellant_phone", "link_kind"),
            key=lambda a: (RANK.get(a.link_kind, 2), a.pk),
        ):
            appeals.setdefault((appeal.case_id, appeal.appellant_phone), appeal.pk)
        for row in rows:
            row.appeal_id = appeals.get((row.case_id, row.phone))
        FollowupRequest.objects.bulk_update(rows, ["round", "appeal"])

    for request in requests.iterator(chunk_size=CHUNK):
        if request.case_id != current:
            current, round_no = request.case_id, 0
        round_no += 1
        request.round = round_no
        chunk.append(request)
        if len(chunk) >= CHUNK:
            flush(chunk)
            chunk = []
    flush(chunk)


class Migration(migrations.Migration):
    dependencies = [
        ("appeals", "0002_appeal_dedup"),
        ("followup", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="followuprequest",
            name="followup_one_open_per_case",
        ),
        migrations.AddField(
            model_name="followuprequest",
            name="appeal",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="appeals.appeal",
                verbose_name="诉求",
            ),
        ),
        migrations.AddField(
            model_name="followuprequest",
            name="round",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="回访轮次"),
        ),
        migrations.AddConstraint(
            model_name="followuprequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["waiting", "agent"])),
                fields=("case", "phone"),
                name="followup_one_open_per_case_phone",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
