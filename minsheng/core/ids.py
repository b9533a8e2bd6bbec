"""Primary keys taken before the rows are written.

A batch that must know its rows' ids before it writes them (a case number is made from the case id; the
duplicate index holds appeals by id while their transaction is still open) reserves them here.
"""

from django.db import connection, models


def reserve(model: type[models.Model], count: int) -> list[int]:
    """``count`` unused ids of ``model``'s auto id, in increasing order; the rows may then be inserted
    with these ids. Ids reserved and not used are a gap, as a rolled-back insert leaves one.

    PostgreSQL: from the column's sequence, in one round trip. SQLite: after the largest id ever
    given (``sqlite_sequence``), which is then moved past the reserved ones; call it inside the
    transaction that inserts them, once it holds SQLite's write lock (no other writer can come
    between)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"reserving ids on {connection.vendor}")
        if not connection.in_atomic_block:
            raise RuntimeError("ids.reserve on SQLite must run inside the transaction that uses them")
        quoted = connection.ops.quote_name(table)
        pk = connection.ops.quote_name(model._meta.pk.column)
        cursor.execute(f"SELECT max({pk}) FROM {quoted}")  # noqa: S608 (names from the model)
        largest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        first = max(largest, row[0] if row else 0) + 1
        last = first + count - 1
        if row:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [last, table])
        else:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, last])
        return list(range(first, last + 1))
