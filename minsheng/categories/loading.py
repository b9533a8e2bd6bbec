"""Loading the default category tree (idempotent: admins' later edits to deadlines are kept)."""

from minsheng.categories.defaults import DEFAULT_TREE, KIND_DEFAULTS
from minsheng.categories.models import Category


def load_default_categories() -> int:
    """Create the default police taxonomy; returns how many categories were created."""
    created = 0
    order = 0
    for code, name, kind, handler, children in DEFAULT_TREE:
        order += 10
        parent, was_created = Category.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "handler_function": handler,
                "sort_order": order,
                "followup_required": KIND_DEFAULTS[kind][1],
            },
        )
        created += was_created
        for child_code, child_name, child_kind, child_handler in children:
            order += 1
            _, was_created = Category.objects.get_or_create(
                code=child_code,
                defaults={
                    "name": child_name,
                    "kind": child_kind,
                    "handler_function": child_handler,
                    "parent": parent,
                    "sort_order": order,
                    "followup_required": KIND_DEFAULTS[child_kind][1],
                },
            )
            created += was_created
    return created
