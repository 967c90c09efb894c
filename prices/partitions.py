"""The price history's monthly partitions on PostgreSQL.

Migration 0005 turns `prices_pricepoint` into a table partitioned by range of
`observed_at`, one partition per calendar month (UTC) named `prices_pricepoint_pYYYY_MM`,
and a default partition for anything no month covers. Its primary key is
(id, observed_at), as PostgreSQL requires of a partitioned table; `id` still comes from one
identity sequence and stays unique, so the ORM's reads, updates and deletes by `pk` work
as before. SQLite keeps the plain table and nothing here runs there.

Two jobs keep the layout:

- ensure_partitions() (the `price-partitions` schedule) creates the next months'
  partitions ahead of time, and moves rows that landed in the default partition (a
  backfill older than the first month) into partitions of their own;
- fold_month() (called by retention) rewrites a month that lies wholly past the
  retention cutoff as a new, compact table of one point per card, key and day, and swaps
  it in for the old partition, which is dropped whole: no row-by-row delete, no bloat.
  The new partition is marked with the identity sequence's value at the time, so a later
  run knows it is folded unless a point has been written into it since.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from prices.history import PRODUCT_WIDE_SAMPLES
from prices.models import PricePoint

TABLE = PricePoint._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
# Months created ahead of the current one, so that a missed day of the job changes nothing.
MONTHS_AHEAD = 3
# Partition DDL waits this long for the table's lock, then gives up (the job runs again
# tomorrow) rather than queue every page's query behind it.
LOCK_TIMEOUT = "10s"
FOLDED_MARK = re.compile(r"^folded through id (\d+)$")
COLUMNS = (
    "id",
    "source",
    "price_key",
    "currency",
    "market",
    "low",
    "high",
    "sample_size",
    "observed_at",
    "card_id",
)


@dataclass(frozen=True)
class Partition:
    name: str
    start: dt.datetime
    end: dt.datetime
    folded_through: int | None  # the identity value when it was last folded

    @property
    def month(self) -> dt.date:
        return self.start.date()


@dataclass
class FoldResult:
    groups: int = 0  # card-days that had more than one point
    removed: int = 0
    card_ids: frozenset[int] = frozenset()


def is_partitioned(using=connection) -> bool:
    if using.vendor != "postgresql":
        return False
    with using.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [TABLE]
        )
        return cursor.fetchone() is not None


def month_start(moment: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(moment.year, moment.month, 1, tzinfo=dt.UTC)


def next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partition_name(start: dt.datetime) -> str:
    return f"{TABLE}_p{start.year:04d}_{start.month:02d}"


def partitions() -> list[Partition]:
    """The monthly partitions, oldest first (the default partition is not one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), obj_description(c.oid, 'pg_class')
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(%s)
            """,
            [TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound, comment in rows:
        limits = re.findall(r"'([^']+)'", bound)
        if len(limits) != 2:
            continue  # the default partition
        start, end = (dt.datetime.fromisoformat(limit).astimezone(dt.UTC) for limit in limits)
        mark = FOLDED_MARK.match(comment or "")
        found.append(Partition(name, start, end, int(mark[1]) if mark else None))
    return sorted(found, key=lambda p: p.start)


def ensure_partitions(
    months_ahead: int = MONTHS_AHEAD, since: dt.datetime | None = None, dry_run: bool = False
) -> list[str]:
    """Create the partitions of this month and the next `months_ahead` (and of every month
    from `since`, for a backfill about to be written), and of every month that has rows in
    the default partition, moving them there; the names created."""
    if not is_partitioned():
        return []
    existing = {p.start for p in partitions()}
    wanted = set()
    month = month_start(min(since, timezone.now()) if since else timezone.now())
    last = month_start(timezone.now())
    for _ in range(months_ahead):
        last = next_month(last)
    while month <= last:
        wanted.add(month)
        month = next_month(month)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', observed_at AT TIME ZONE 'UTC') "
            f"FROM {DEFAULT_PARTITION}"
        )
        stranded = {month_start(row[0]) for row in cursor.fetchall()}
    created = []
    for start in sorted((wanted | stranded) - existing):
        created.append(partition_name(start))
        if not dry_run:
            _create_partition(start, move_from_default=start in stranded)
    return created


def _create_partition(start: dt.datetime, move_from_default: bool) -> None:
    """A month's partition, built beside the table and attached: attaching locks the
    table only against other DDL, where creating one in place would lock out readers."""
    end = next_month(start)
    name = partition_name(start)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        # With this check in place, attaching needs no scan of the new table.
        cursor.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds "
            "CHECK (observed_at >= %s AND observed_at < %s)",
            [start, end],
        )
        if move_from_default:
            cursor.execute(
                f"""
                WITH moved AS (
                    DELETE FROM {DEFAULT_PARTITION}
                    WHERE observed_at >= %s AND observed_at < %s RETURNING *
                )
                INSERT INTO {name} ({", ".join(COLUMNS)}) SELECT {", ".join(COLUMNS)} FROM moved
                """,
                [start, end],
            )
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [start, end],
        )
        cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")


def months_to_fold(cutoff: dt.datetime) -> list[Partition]:
    """Partitions wholly before the cutoff that are not folded, or have had points
    written into them since they were."""
    due = []
    for partition in partitions():
        if partition.end > cutoff:
            continue
        if partition.folded_through is None:
            due.append(partition)
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {partition.name} WHERE id > %s)",
                [partition.folded_through],
            )
            if cursor.fetchone()[0]:
                due.append(partition)
    return due


def _fold_sql(source: str, target: str) -> str:
    """Copy `source` into `target` folded to one point per (card, source, key, UTC day):
    the day's last point, its low and high widened to the day's extremes, sample sizes
    added up (a product-wide count keeps the latest). Returns (card_id, days, removed) per card
    that had a day to fold. The rules of prices.retention._fold, set-based."""
    product_wide = ", ".join(f"'{source_name}'" for source_name in sorted(PRODUCT_WIDE_SAMPLES))
    return f"""
    WITH days AS MATERIALIZED (
        SELECT count(*) AS n,
               (array_agg(p ORDER BY p.observed_at DESC))[1] AS last,
               min(coalesce(p.low, p.market)) AS low,
               max(coalesce(p.high, p.market)) AS high,
               sum(p.sample_size) AS total_sample,
               (array_agg(p.sample_size ORDER BY p.observed_at DESC)
                   FILTER (WHERE p.sample_size IS NOT NULL))[1] AS latest_sample
        FROM {source} p
        GROUP BY p.card_id, p.source, p.price_key, (p.observed_at AT TIME ZONE 'UTC')::date
    ), copied AS (
        INSERT INTO {target} ({", ".join(COLUMNS)})
        SELECT (last).id, (last).source, (last).price_key, (last).currency, (last).market,
               CASE WHEN n = 1 THEN (last).low ELSE low END,
               CASE WHEN n = 1 THEN (last).high ELSE high END,
               CASE WHEN n = 1 THEN (last).sample_size
                    WHEN (last).source IN ({product_wide or "NULL"}) THEN latest_sample
                    ELSE total_sample END,
               (last).observed_at, (last).card_id
        FROM days
        ORDER BY (last).card_id, (last).source, (last).price_key, (last).observed_at
    )
    SELECT (last).card_id, count(*), sum(n - 1) FROM days WHERE n > 1 GROUP BY (last).card_id
    """


def fold_month(partition: Partition) -> FoldResult:
    """Rewrite a month folded and swap it in for the old partition, which is dropped.

    The month is closed to writes while it is copied (readers carry on); the table itself
    is locked only for the swap, once the copy has its indexes and constraints."""
    new = f"{partition.name}_new"
    with transaction.atomic(), connection.cursor() as cursor:
        # A table with deferred foreign-key checks still pending cannot be dropped: check
        # them now (only a caller's open transaction can have any).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"LOCK TABLE {partition.name} IN EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value FROM {sequence}")
        folded_through = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE IF EXISTS {new}")
        cursor.execute(
            f"CREATE TABLE {new} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(_fold_sql(partition.name, new))
        per_card = cursor.fetchall()
        mark = f"folded through id {folded_through}"
        if not per_card:
            # Nothing to fold: keep the partition, just mark it.
            cursor.execute(f"DROP TABLE {new}")
            cursor.execute(f"COMMENT ON TABLE {partition.name} IS %s", [mark])
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            return FoldResult()
        _copy_indexes_and_constraints(cursor, new)
        cursor.execute(
            f"ALTER TABLE {new} ADD CONSTRAINT {new}_bounds "
            "CHECK (observed_at >= %s AND observed_at < %s)",
            [partition.start, partition.end],
        )
        cursor.execute(f"ANALYZE {new}")
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {partition.name}")
        cursor.execute(f"DROP TABLE {partition.name}")
        cursor.execute(f"ALTER TABLE {new} RENAME TO {partition.name}")
        cursor.execute(
            f"ALTER TABLE {TABLE} ATTACH PARTITION {partition.name} FOR VALUES FROM (%s) TO (%s)",
            [partition.start, partition.end],
        )
        cursor.execute(f"ALTER TABLE {partition.name} DROP CONSTRAINT {new}_bounds")
        _rename_indexes(cursor, partition.name, new)
        cursor.execute(f"COMMENT ON TABLE {partition.name} IS %s", [mark])
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return FoldResult(
        groups=sum(int(groups) for _, groups, _ in per_card),
        removed=sum(int(removed) for _, _, removed in per_card),
        card_ids=frozenset(card_id for card_id, _, _ in per_card),
    )


def _copy_indexes_and_constraints(cursor, new: str) -> None:
    """The table's primary key, unique and foreign keys and indexes on `new`, so that
    attaching it finds them built (and the foreign key checked) instead of building them
    under the table's lock."""
    cursor.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f') ORDER BY contype",
        [TABLE],
    )
    for (definition,) in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {new} ADD {definition}")
    cursor.execute(
        """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS (
            SELECT 1 FROM pg_constraint c
            WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid
        )
        """,
        [TABLE],
    )
    for (definition,) in cursor.fetchall():
        cursor.execute(
            re.sub(
                r"^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ ",
                rf"CREATE \1INDEX ON {new} ",
                definition,
            )
        )


def _rename_indexes(cursor, name: str, old_prefix: str) -> None:
    """Indexes named after the scratch table take the partition's name."""
    cursor.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s)",
        [name],
    )
    for (index,) in cursor.fetchall():
        if index.startswith(old_prefix):
            cursor.execute(f"ALTER INDEX {index} RENAME TO {name}{index[len(old_prefix) :]}")
