"""Rows read by primary key, and written, without the ORM's query compiler.

The intake worker reads cases by id once for nearly every appeal it registers (the verdict needs a
matched case's number and state; a link locks its case). Through a QuerySet each read cost 1.3 ms of
CPU, 3.6 ms with ``select_related`` and ``FOR UPDATE``, most of it compiling the same SQL again; this
builds the statement once per model and set of fields and makes the instances with ``from_db``, as the
ORM does (fields not read are deferred, as with ``only``). ``Columns`` is the other way: the values
of rows to write, prepared as the ORM prepares them, for a COPY or an INSERT of one's own.
"""

from __future__ import annotations

from functools import cache

from django.db import connection, models


def by_pk(
    model: type[models.Model], pks, fields: tuple[str, ...] | None = None, *, for_update: bool = False
) -> dict:
    """``{pk: instance}`` of the rows of ``model`` with these primary keys (missing ones left out).
    ``fields``: the attribute names to read (default every concrete field); ``for_update``: lock the
    rows until the end of the transaction (``SELECT … FOR UPDATE`` where the database has it)."""
    pks = list(dict.fromkeys(pks))
    if not pks:
        return {}
    attnames, select = _select(model, fields)
    sql = f"{select} IN ({', '.join(['%s'] * len(pks))})"
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(sql, pks)
        rows = cursor.fetchall()
    converters = _converters(model, tuple(attnames))
    found = {}
    for row in rows:
        if converters:
            row = list(row)
            for i, convert in converters:
                row[i] = convert(row[i])
        instance = model.from_db(connection.alias, attnames, row)
        found[instance.pk] = instance
    return found


@cache
def _select(model: type[models.Model], fields: tuple[str, ...] | None) -> tuple[list[str], str]:
    meta = model._meta
    wanted = {meta.get_field(name) for name in fields if name != "pk"} if fields is not None else None
    # In the model's order, the primary key always: ``from_db`` pairs values with fields in that order.
    chosen = [f for f in meta.concrete_fields if wanted is None or f in wanted or f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in chosen)
    # Names from the model only; the values are parameters.
    select = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)}"  # noqa: S608
    return [f.attname for f in chosen], select


@cache
def _converters(model: type[models.Model], attnames: tuple[str, ...]) -> list:
    """What the ORM would apply to each value read (``from_db_value`` of the fields, the backend's
    converters: SQLite's datetimes and JSON, for instance), by position; empty when nothing needs it."""
    out = []
    for i, attname in enumerate(attnames):
        field = next(f for f in model._meta.concrete_fields if f.attname == attname)
        expression = field.get_col(model._meta.db_table)
        steps = connection.ops.get_db_converters(expression) + field.get_db_converters(connection)
        if steps:

            def convert(value, steps=steps, expression=expression):
                for step in steps:
                    value = step(value, expression, connection)
                return value

            out.append((i, convert))
    return out


# Fields whose database value is the Python value itself when it has exactly this type: for them the
# ORM's preparation (``pre_save``, ``get_db_prep_save``) returns what it was given, and skipping it
# saves about a quarter of the batch's writing. Anything else (a subclass, a choices enum, a JSON or time
# field, a value of another type) is prepared by its field.
_PLAIN = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.BigIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
}


class Columns:
    """A model's columns for writing rows without the ORM's insert (COPY, a prepared INSERT), and
    each row's values for them, prepared as the ORM would prepare them (``_PLAIN``)."""

    _cache: dict = {}

    def __init__(self, model, keyed: bool):
        self.fields = [f for f in model._meta.concrete_fields if keyed or not f.primary_key]
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        self.names = ", ".join(quote(f.column) for f in self.fields)
        self.spec = [
            (f, f.attname, _PLAIN.get(type(f.target_field if f.is_relation else f))) for f in self.fields
        ]

    @classmethod
    def of(cls, model, keyed: bool) -> Columns:
        found = cls._cache.get((model, keyed))
        if found is None:
            found = cls._cache[(model, keyed)] = cls(model, keyed)
        return found

    def values(self, row) -> list:
        out = []
        attrs = row.__dict__
        for f, attname, kind in self.spec:
            value = attrs.get(attname)
            if kind is not None and (value is None or type(value) is kind) and attname in attrs:
                out.append(value)
            else:
                out.append(f.get_db_prep_save(f.pre_save(row, True), connection))
        return out
