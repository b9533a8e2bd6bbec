"""SMS texts: declared in code (key, default body, the variables it may use), edited by admins.

A body is plain text with ``{变量}`` placeholders named in Chinese, as the admins who edit them read
them. Only the declared variables are allowed: no attribute access, no indexing, no format specs,
so an edited template can neither reach into objects nor blow a message up to megabytes.
"""

import logging
import string
from dataclasses import dataclass, field

from minsheng.sms.segments import Segmentation, segment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextSpec:
    key: str
    name: str
    default: str
    variables: dict[str, str]  # variable → what it holds (shown to the admin)
    sample: dict[str, str] = field(default_factory=dict)  # values for the preview


REGISTRY: dict[str, TextSpec] = {}


def register(spec: TextSpec) -> TextSpec:
    problems = errors(spec.default, spec)
    if problems:
        raise ValueError(f"default text {spec.key}: {problems}")
    REGISTRY[spec.key] = spec
    return spec


def errors(body: str, spec: TextSpec) -> list[str]:
    """What is wrong with ``body`` as the text ``spec`` (Chinese, for the admin form); [] when fine."""
    problems = []
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError:
        return ["花括号不配对：变量写作 {变量名}，正文中的花括号请写作 {{ 或 }}"]
    for _, name, format_spec, conversion in parsed:
        if name is None:
            continue
        if name == "":
            problems.append("变量名不能为空")
        elif name not in spec.variables:
            problems.append(f"未知变量 {{{name}}}，可用：{'、'.join(spec.variables)}")
        elif format_spec or conversion:
            problems.append(f"变量 {{{name}}} 不支持格式说明")
    if not body.strip():
        problems.append("短信内容不能为空")
    return problems


def _format(body: str, values: dict[str, str]) -> str:
    return body.format_map({key: str(value) for key, value in values.items()})


def body_for(key: str) -> str:
    """The admin's active text for ``key`` if there is one, else the built-in default."""
    from minsheng.sms.models import SmsTemplate

    spec = REGISTRY[key]
    row = SmsTemplate.objects.filter(key=key, active=True).values_list("body", flat=True).first()
    if row and not errors(row, spec):
        return row
    return spec.default


def render(key: str, values: dict[str, str]) -> str:
    """The text for ``key`` with ``values`` filled in.

    A broken edited text must never stop the action that queues the SMS (completing a case), so a
    failure falls back to the built-in default and is logged.
    """
    spec = REGISTRY[key]
    body = body_for(key)
    try:
        return _format(body, values)
    except (KeyError, ValueError, IndexError):
        log.exception("SMS template %s failed to render; using the default", key)
        return _format(spec.default, values)


@dataclass(frozen=True)
class Preview:
    text: str
    segmentation: Segmentation


def preview(key: str, body: str) -> Preview:
    """``body`` rendered with the sample values, and what it costs in SMS parts."""
    spec = REGISTRY[key]
    values = {name: spec.sample.get(name, f"（{label}）") for name, label in spec.variables.items()}
    text = _format(body, values)
    return Preview(text, segment(text))


def ensure_rows(**kwargs) -> None:
    """Create a row for every registered text that has none (after migrate), so admins find them."""
    from django.db import connection

    from minsheng.sms.models import SmsTemplate

    if SmsTemplate._meta.db_table not in connection.introspection.table_names():
        return
    existing = set(SmsTemplate.objects.values_list("key", flat=True))
    SmsTemplate.objects.bulk_create(
        [
            SmsTemplate(key=spec.key, name=spec.name, body=spec.default)
            for spec in REGISTRY.values()
            if spec.key not in existing
        ]
    )
