"""PostgreSQL only: a covering index for the workbench's queue counts.

``queues.counts`` counts every visible case once per queue in one aggregate. Without this index PostgreSQL
reads the whole case table for it (a branch supervisor's subtree is ~10% of the cases, but they are spread
over every page of the table), which took 100-200 ms at 200,000 cases. With every column the aggregate
reads in the index (unit, state, both deadlines, the id it counts and the district filter), the counts
become index-only scans: a unit's subtree reads only its own index entries (~5 ms), and level-1 users
read the index instead of the table (see ``bench/workbench.py``).

``INCLUDE`` is PostgreSQL syntax, so the index is created by SQL on PostgreSQL only and is not declared
in ``Case.Meta`` (SQLite, used for development and tests, does not need it).
"""

from django.db import migrations

INDEX = "case_queue_counts"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("cases", "Case")._meta.db_table
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON {table} "
        "(responsible_unit_id, state, accept_due_at, complete_due_at) INCLUDE (id, district_code)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_case_triage")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
