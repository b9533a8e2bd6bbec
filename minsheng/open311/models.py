"""Clients of the Open311 interface and their api keys."""

import secrets

from django.db import models

from minsheng.core import clock


def new_api_key() -> str:
    return secrets.token_urlsafe(24)


class Open311Client(models.Model):
    """An application allowed to submit service requests (a city app, a partner platform).

    The api key is what GeoReport v2 uses to authenticate a POST; reading is public.
    """

    code = models.SlugField(
        "代码", max_length=32, unique=True, help_text="记作原始报文和诉求的来源，启用后不要修改。"
    )
    name = models.CharField("名称", max_length=64)
    api_key = models.CharField("接入密钥（api_key）", max_length=64, unique=True, default=new_api_key)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", default=clock.now)

    class Meta:
        verbose_name = "Open311 接入方"
        verbose_name_plural = "Open311 接入方"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        """The payloads' and appeals' source. Prefixed: an ``external_ref`` a client sends is unique per
        source, and must never match a partner's work order whose partner code happens to be the same."""
        return f"open311:{self.code}"


def new_request_id() -> str:
    return secrets.token_urlsafe(9)


class Open311Request(models.Model):
    """The public Open311 id (``service_request_id``) of an appeal that came in through Open311.

    Not the appeal's tracking code: GET requests publishes the id of every Open311 request to anyone,
    while the tracking code opens the citizen's own progress page, with the reply written to them.
    Created with the appeal, in its transaction (see ``signals``).
    """

    appeal = models.OneToOneField(
        "appeals.Appeal", on_delete=models.CASCADE, related_name="open311", verbose_name="诉求"
    )
    request_id = models.CharField("Open311 编号", max_length=16, unique=True, default=new_request_id)

    class Meta:
        verbose_name = "Open311 诉求编号"
        verbose_name_plural = "Open311 诉求编号"

    def __str__(self) -> str:
        return self.request_id
