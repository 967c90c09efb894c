"""The deploy path as an operator runs it: the Procfile's release step on an empty
database leaves every scheduled job in place, and the zero-configuration cache works for
every process of the install."""

import subprocess

from tcgtracker.schedules import SCHEDULES
from tests.services import PYTHON, ROOT, manage


def test_the_release_step_creates_every_declared_schedule_on_an_empty_database(released):
    rows = released.database.query("SELECT name, func, repeats FROM django_q_schedule")
    assert {(name, func) for name, func, _ in rows} == {
        (spec["name"], spec["func"]) for spec in SCHEDULES
    }
    assert {repeats for _, _, repeats in rows} == {-1}  # forever


def test_the_release_step_ranks_once_so_a_deploys_lists_are_right_from_the_first_request(
    released,
):
    # An empty catalog: every game and period has its (empty) ranking, nothing to sort.
    rankings = released.database.query("SELECT game, period FROM prices_moverranking")
    assert len(set(rankings)) == 6  # two games, three periods
    assert released.database.query("SELECT card_id FROM prices_cardheadline") == []
    assert all("Movers ranked, price sort refreshed." in output for output in released.outputs)


def test_running_the_release_step_again_changes_nothing(released):
    first, second = released.outputs
    assert all(f"{spec['name']}: created" in first for spec in SCHEDULES)
    assert all(f"{spec['name']}: up to date" in second for spec in SCHEDULES)
    assert len(released.database.query("SELECT id FROM django_q_schedule")) == len(SCHEDULES)


def test_the_zero_configuration_cache_is_shared_by_every_process(released):
    """Without Redis the cache is a database table: what one process (a web worker) takes,
    another (a task worker) sees taken, so locks and limits hold across them."""
    take = "from django.core.cache import cache; print(cache.add('ops-lock', 'web', 60))"
    look = (
        "from django.core.cache import cache; "
        "print(cache.get('ops-lock'), cache.add('ops-lock', 'worker', 60))"
    )
    assert manage("shell", "--no-imports", "-c", take, env=released.env).stdout.split() == ["True"]
    assert manage("shell", "--no-imports", "-c", look, env=released.env).stdout.split() == [
        "web",
        "False",
    ]


def test_the_zero_configuration_cache_counts_every_hit_of_processes_counting_at_once(released):
    """An API window or a source's rate budget, counted by two processes at the same time:
    no hit is lost, and the counter keeps its expiry."""
    prepare = "from django.core.cache import cache; cache.set('ops-count', 0, 3600); print('ready')"
    count = (
        "from django.core.cache import cache\nfor _ in range(150):\n    cache.incr('ops-count')\n"
    )
    report = (
        "import datetime as dt\n"
        "from django.core.cache import cache\n"
        "from django.db import connection\n"
        "from django.utils.dateparse import parse_datetime\n"
        "cursor = connection.cursor()\n"
        "cursor.execute('SELECT expires FROM tcgtracker_cache WHERE cache_key LIKE %s', "
        "['%:ops-count'])\n"
        "expires = cursor.fetchone()[0]\n"
        "expires = expires if isinstance(expires, dt.datetime) else parse_datetime(expires)\n"
        "left = expires.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)\n"
        "print(cache.get('ops-count'), left > dt.timedelta(minutes=50))\n"
    )
    manage("shell", "--no-imports", "-c", prepare, env=released.env)
    processes = [
        subprocess.Popen(
            [PYTHON, "manage.py", "shell", "--no-imports", "-c", count],
            cwd=ROOT,
            env=released.env,
        )
        for _ in range(2)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    total, hour_kept = manage(
        "shell", "--no-imports", "-c", report, env=released.env
    ).stdout.split()
    assert total == "300"
    assert hour_kept == "True"  # the hour it was given, not Django's default five minutes
