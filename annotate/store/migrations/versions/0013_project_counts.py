"""Counts kept per project for ``annotate status`` (#17 item 4).

At 1M items ``status`` counted 3M tasks, 2M answers and 1M items on every call (0.7-1.1 s).
``project_counts`` keeps those counts instead: rows ``(project_id, what, k1, k2, n)`` whose
``n`` summed per ``(what, k1, k2)`` is the count, with ``what`` one of ``items`` (k1, k2
empty), ``tasks`` (k1 the role, k2 the status) and ``annotations`` (k1 the annotator kind).
Database triggers keep them, so every writer (the queue, batch submits, bulk imports and
COPY, the cascades of a deleted item or project) keeps them right without Python:

- SQLite (one writer at a time anyway): row triggers add +1/-1 to the one row of the key
  (an upsert on a unique index);
- PostgreSQL: statement triggers with transition tables insert one delta row per key a
  statement changed, and never update a row: queue workers updating one counter row would
  wait for each other's commits on its lock (and could deadlock: a claim moves a task from
  pending to leased while an expiry moves another back). Every 128th delta row or so, the
  trigger folds the project's rows into one per key (one folder at a time per project, by
  a transaction-level advisory lock it only tries), which bounds what ``status`` sums.

Zero sums may stay as rows; ``status`` leaves them out (HAVING). Deleting a project deletes
its rows. The backfill counts each table once (the triggers exist first, so on PostgreSQL no
write slips between the two).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# (table, what, k1, k2): the key each counted table gives its rows
COUNTED = (("items", "items", "''", "''"),
           ("tasks", "tasks", "role", "status"),
           ("annotations", "annotations", "annotator_kind", "''"))
FOLD_EVERY = 128  # PostgreSQL: delta rows between folds, about


def upgrade() -> None:
    op.create_table(
        "project_counts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, nullable=False),  # no FK: see _postgres_triggers
        sa.Column("what", sa.String(16), nullable=False),
        sa.Column("k1", sa.String(32), nullable=False),
        sa.Column("k2", sa.String(16), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_index("ix_project_counts_key", "project_counts",
                    ["project_id", "what", "k1", "k2"], unique=sqlite)
    for sql in (_sqlite_triggers() if sqlite else _postgres_triggers()):
        op.execute(sql)
    for table, what, k1, k2 in COUNTED:
        keys = ", ".join(["project_id", *(k for k in (k1, k2) if k != "''")])
        op.execute(f"INSERT INTO project_counts (project_id, what, k1, k2, n) "
                   f"SELECT project_id, '{what}', {k1}, {k2}, count(*) FROM {table} "
                   f"GROUP BY {keys}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, _, _, _ in COUNTED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_counts_{event}")
        op.execute("DROP TRIGGER IF EXISTS projects_counts_delete")
    else:
        for table, _, _, _ in COUNTED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_counts_{event} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS {table}_counts_{event}()")
        op.execute("DROP TRIGGER IF EXISTS projects_counts_delete ON projects")
        op.execute("DROP FUNCTION IF EXISTS projects_counts_delete()")
        op.execute("DROP FUNCTION IF EXISTS project_counts_fold(integer)")
    op.drop_index("ix_project_counts_key", table_name="project_counts")
    op.drop_table("project_counts")


def _sqlite_add(row: str, what: str, k1: str, k2: str, n: int) -> str:
    keys = ", ".join(f"{row}.{k}" if k != "''" else k for k in (k1, k2))
    return (f"INSERT INTO project_counts (project_id, what, k1, k2, n) "
            f"VALUES ({row}.project_id, '{what}', {keys}, {n}) "
            f"ON CONFLICT (project_id, what, k1, k2) DO UPDATE SET n = n + excluded.n;")


def _sqlite_triggers() -> list[str]:
    sql = []
    for table, what, k1, k2 in COUNTED:
        sql.append(f"CREATE TRIGGER {table}_counts_insert AFTER INSERT ON {table} BEGIN "
                   f"{_sqlite_add('NEW', what, k1, k2, 1)} END")
        sql.append(f"CREATE TRIGGER {table}_counts_delete AFTER DELETE ON {table} BEGIN "
                   f"{_sqlite_add('OLD', what, k1, k2, -1)} END")
        keys = ["project_id", *(k for k in (k1, k2) if k != "''")]
        changed = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in keys)
        sql.append(f"CREATE TRIGGER {table}_counts_update AFTER UPDATE OF {', '.join(keys)} "
                   f"ON {table} WHEN {changed} BEGIN "
                   f"{_sqlite_add('OLD', what, k1, k2, -1)} "
                   f"{_sqlite_add('NEW', what, k1, k2, 1)} END")
    # the cascade's deletes of the project's items, tasks and answers have run by then
    sql.append("CREATE TRIGGER projects_counts_delete AFTER DELETE ON projects BEGIN "
               "DELETE FROM project_counts WHERE project_id = OLD.id; END")
    return sql


def _postgres_triggers() -> list[str]:
    sql = [f"""
CREATE FUNCTION project_counts_fold(pid integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- one folder per project at a time; the others skip (their deltas stay to be folded)
    IF pg_try_advisory_xact_lock(hashtext('project_counts'), pid) THEN
        WITH gone AS (DELETE FROM project_counts WHERE project_id = pid
                      RETURNING what, k1, k2, n)
        INSERT INTO project_counts (project_id, what, k1, k2, n)
        SELECT pid, what, k1, k2, sum(n) FROM gone GROUP BY what, k1, k2
        HAVING sum(n) <> 0;
    END IF;
END $$""",
           # a deleted project's rows go; the deltas of its cascade come after this trigger
           # and are dropped (the WHERE EXISTS of each table's trigger)
           """
CREATE FUNCTION projects_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM project_counts WHERE project_id = OLD.id;
    RETURN NULL;
END $$""",
           "CREATE TRIGGER projects_counts_delete AFTER DELETE ON projects "
           "FOR EACH ROW EXECUTE FUNCTION projects_counts_delete()"]
    for table, what, k1, k2 in COUNTED:
        for event, deltas in (
                ("insert", f"SELECT project_id, {k1} AS k1, {k2} AS k2, 1 AS n FROM new_rows"),
                ("delete", f"SELECT project_id, {k1} AS k1, {k2} AS k2, -1 AS n FROM old_rows"),
                ("update", f"SELECT project_id, {k1} AS k1, {k2} AS k2, 1 AS n FROM new_rows "
                           f"UNION ALL SELECT project_id, {k1}, {k2}, -1 FROM old_rows")):
            sql.append(f"""
CREATE FUNCTION {table}_counts_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
    pid integer;
BEGIN
    INSERT INTO project_counts (project_id, what, k1, k2, n)
    SELECT project_id, '{what}', k1, k2, n FROM (
        SELECT project_id, k1, k2, sum(n) AS n FROM ({deltas}) AS d
        GROUP BY project_id, k1, k2 HAVING sum(n) <> 0) AS s
    WHERE EXISTS (SELECT FROM projects WHERE projects.id = s.project_id);
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 AND currval(pg_get_serial_sequence('project_counts', 'id'))
                     % {FOLD_EVERY} < added THEN
        FOR pid IN SELECT DISTINCT project_id FROM ({deltas}) AS d LOOP
            PERFORM project_counts_fold(pid);
        END LOOP;
    END IF;
    RETURN NULL;
END $$""")
            tables = ("REFERENCING NEW TABLE AS new_rows" if event == "insert" else
                      "REFERENCING OLD TABLE AS old_rows" if event == "delete" else
                      "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows")
            sql.append(f"CREATE TRIGGER {table}_counts_{event} AFTER {event.upper()} ON {table} "
                       f"{tables} FOR EACH STATEMENT EXECUTE FUNCTION {table}_counts_{event}()")
    return sql
