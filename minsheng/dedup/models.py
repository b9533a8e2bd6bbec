"""What the platform keeps about duplicates: the intake lock, the index journal, the suggestions.

The index itself lives in each process's memory (``dedup.service``); these tables are what makes it
a faithful copy of the database in every process and after a restart.
"""

import secrets

from django.conf import settings
from django.db import models

from minsheng.core import clock


def new_epoch() -> str:
    return secrets.token_hex(8)


class IndexLock(models.Model):
    """One row. Every comparison takes its write lock (an UPDATE) before reading the journal, so two
    workers taking near-identical appeals at the same moment compare one after the other: the second
    sees the first's appeal. ``epoch`` names this database's journal: a snapshot of the index made
    against another database (a restored backup, a fresh install) is never trusted."""

    epoch = models.CharField(max_length=16, default=new_epoch)
    touched_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = "比对锁"
        verbose_name_plural = "比对锁"

    def __str__(self) -> str:
        return f"比对锁 {self.epoch}"


class IndexChange(models.Model):
    """One change to the index, in commit order: an appeal entered, or moved to another case (a
    link, a merge, a split). Written under ``IndexLock`` in the transaction that made the change, so a
    process that has applied every row up to ``seq`` holds exactly the database's state."""

    seq = models.BigAutoField(primary_key=True)
    appeal = models.ForeignKey("appeals.Appeal", on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=clock.now)
    # An appeal entered by a worker's batch: its places ([kind, name, core] each) and LSH band keys
    # (uint64 bytes) as the detector derived them, so that the other processes index it without
    # deriving them again (with two workers, that was a quarter of their time). Null for a move, and
    # for an appeal entered one at a time: they are then derived from the appeal, which gives the same.
    places = models.JSONField(null=True, blank=True)
    bands = models.BinaryField(null=True, blank=True)

    class Meta:
        verbose_name = "比对索引变更"
        verbose_name_plural = "比对索引变更"
        indexes = [
            # The rows still carrying places or band keys (about a day's): what ``thin_journal`` looks
            # for, without reading the whole journal.
            models.Index(
                fields=["seq"],
                condition=models.Q(places__isnull=False) | models.Q(bands__isnull=False),
                name="journal_carrying",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seq}: 诉求{self.appeal_id} → 工单{self.case_id}"


class SuggestionState(models.TextChoices):
    PENDING = "pending", "待确认"
    LINKED = "linked", "已关联"
    DISMISSED = "dismissed", "非同一事项"


class DuplicateSuggestion(models.Model):
    """A possible duplicate (medium confidence): shown to the dispatcher and the handling unit, linked
    or dismissed in one click."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="duplicate_suggestions")
    appeal = models.ForeignKey("appeals.Appeal", on_delete=models.CASCADE, related_name="+")
    candidate_case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    candidate_appeal = models.ForeignKey("appeals.Appeal", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField("相似度")
    reasons = models.JSONField("理由", default=list)
    state = models.CharField(
        "状态", max_length=16, choices=SuggestionState.choices, default=SuggestionState.PENDING
    )
    created_at = models.DateTimeField(default=clock.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField("说明", blank=True)

    class Meta:
        verbose_name = "疑似重复"
        verbose_name_plural = "疑似重复"
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["appeal", "candidate_case"], name="one_suggestion_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} ~ {self.candidate_case_id} ({self.score:.2f})"
