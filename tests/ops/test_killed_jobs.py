"""Jobs killed the way reality kills them: `manage.py sync_prices` and
`import_pricecharting` run as real processes against a slow PriceCharting on loopback,
then SIGKILLed or SIGTERMed mid-run; the next run is checked from the database."""

import datetime as dt
import signal
import time

from tests.fakes.pricecharting import TOKEN
from tests.ops.conftest import CARDS, make_cards
from tests.services import PYTHON, manage, spawn, stop, wait_for

HEARTBEAT, STALE_AFTER = 1, 3  # seconds: a dead run is found out quickly here


def sync_env(released, fake) -> dict:
    return {
        **released.env,
        "PRICECHARTING_TOKEN": TOKEN,
        "PRICECHARTING_BASE_URL": fake.server.url,
        "PRICECHARTING_CALLS_PER_MINUTE": "100000",
        "JOB_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "JOB_STALE_AFTER_SECONDS": str(STALE_AFTER),
    }


def runs(db, kind="price_sync"):
    """(id, status, progress_done, progress_total, errors) of a kind's runs, oldest first
    (errors: JSON text on SQLite, a list on PostgreSQL)."""
    return db.query(
        "SELECT id, status, progress_done, progress_total, errors FROM prices_jobrun "
        "WHERE kind = %s ORDER BY id",
        (kind,),
    )


def points_of(db, code: str) -> int:
    return db.query(
        "SELECT count(*) FROM prices_pricepoint p JOIN cards_card c ON c.id = p.card_id "
        "JOIN cards_cardset s ON s.id = c.card_set_id WHERE s.code = %s",
        (code,),
    )[0][0]


def start_sync_and_wait_for_its_first_batch(env, db, tmp_path):
    before = {row[0] for row in runs(db)}
    process = spawn(
        [PYTHON, "manage.py", "sync_prices", "--source", "pricecharting"],
        env=env,
        log=tmp_path / "sync.log",
    )

    def first_batch_written():
        fresh = [row for row in runs(db) if row[0] not in before]
        return fresh[0] if fresh and fresh[0][2] >= 20 else None

    run = wait_for(first_batch_written, timeout=60, interval=0.02, what="the first batch")
    return process, run[0]


def test_a_sync_killed_with_sigkill_is_found_dead_and_the_next_run_completes(
    released, slow_pricecharting, tmp_path
):
    db, env = released.database, sync_env(released, slow_pricecharting)
    code = "kill9"
    for pid in make_cards(env, code):
        slow_pricecharting.add_product(id=pid, **{"product-name": "x", "loose-price": 1234})
    process, run_id = start_sync_and_wait_for_its_first_batch(env, db, tmp_path)
    assert stop(process, signal.SIGKILL) == -signal.SIGKILL
    status, done = db.query(
        "SELECT status, progress_done FROM prices_jobrun WHERE id = %s", (run_id,)
    )[0]
    assert (status, done < CARDS) == ("running", True)  # nothing could say otherwise

    # While its heartbeat is fresh, the dead run still holds the source. ("Fresh" is asked
    # with a longer staleness than the run's: the command's own start-up on a loaded
    # machine can take longer than the short one.)
    patient = {**env, "JOB_STALE_AFTER_SECONDS": "60"}
    refused = manage("sync_prices", "--source", "pricecharting", env=patient, check=False)
    assert refused.returncode == 1 and f"(job {run_id})" in refused.stderr

    heartbeat = db.query("SELECT heartbeat_at FROM prices_jobrun WHERE id = %s", (run_id,))[0][0]
    if isinstance(heartbeat, str):  # SQLite hands back text
        heartbeat = dt.datetime.fromisoformat(heartbeat)
    if heartbeat.tzinfo is None:
        heartbeat = heartbeat.replace(tzinfo=dt.UTC)
    time.sleep(max(0.0, STALE_AFTER + 0.5 - (time.time() - heartbeat.timestamp())))

    result = manage("sync_prices", "--source", "pricecharting", env=env)
    assert "pricecharting: Succeeded" in result.stdout
    by_id = {row[0]: row for row in runs(db)}
    dead, last = by_id[run_id], by_id[max(by_id)]
    assert dead[1] == "interrupted" and "stopped answering" in str(dead[4])
    assert (last[1], last[2], last[3]) == ("succeeded", CARDS - done, CARDS - done)
    assert points_of(db, code) == CARDS  # every card priced once: nothing lost or doubled


def test_a_sync_stopped_with_sigterm_says_so_and_frees_its_source_at_once(
    released, slow_pricecharting, tmp_path
):
    db, env = released.database, sync_env(released, slow_pricecharting)
    code = "term15"
    for pid in make_cards(env, code):
        slow_pricecharting.add_product(id=pid, **{"product-name": "x", "loose-price": 1234})
    process, run_id = start_sync_and_wait_for_its_first_batch(env, db, tmp_path)
    returncode = stop(process, signal.SIGTERM)
    output = (tmp_path / "sync.log").read_text()
    assert returncode == 128 + signal.SIGTERM, output
    assert "Interrupted by SIGTERM: the run is marked interrupted." in output
    status, done, errors = db.query(
        "SELECT status, progress_done, errors FROM prices_jobrun WHERE id = %s", (run_id,)
    )[0]
    assert status == "interrupted" and "Interrupted by SIGTERM" in str(errors)
    assert 20 <= done < CARDS

    result = manage("sync_prices", "--source", "pricecharting", env=env)  # no wait needed
    assert "pricecharting: Succeeded" in result.stdout
    assert points_of(db, code) == CARDS


def test_an_import_stopped_with_sigterm_is_marked_interrupted(released, tmp_path):
    # Seconds of rows with no price (each one a rejection, so nothing is written).
    lines = (f"{n},Pokemon Unknown Set,Thing #{n},n/a" for n in range(1, 200_001))
    guide = tmp_path / "guide.csv"
    guide.write_text("id,console-name,product-name,loose-price\n" + "\n".join(lines) + "\n")
    env = {**released.env, "JOB_HEARTBEAT_SECONDS": "1", "JOB_STALE_AFTER_SECONDS": "3"}
    before = {row[0] for row in runs(released.database, "price_import")}
    process = spawn(
        [PYTHON, "manage.py", "import_pricecharting", str(guide)],
        env=env,
        log=tmp_path / "import.log",
    )

    def started():
        fresh = [r for r in runs(released.database, "price_import") if r[0] not in before]
        return fresh[0] if fresh and fresh[0][2] > 0 else None

    run = wait_for(started, timeout=60, interval=0.02, what="the import to report progress")
    assert stop(process, signal.SIGTERM) == 128 + signal.SIGTERM
    status, errors = released.database.query(
        "SELECT status, errors FROM prices_jobrun WHERE id = %s", (run[0],)
    )[0]
    assert status == "interrupted" and "Interrupted by SIGTERM" in str(errors)
