"""The deploy path as an operator runs it: the Procfile's release step on an empty
database leaves every scheduled job in place, and the zero-configuration cache works for
every process of the install."""

from tcgtracker.schedules import SCHEDULES
from tests.services import manage


def test_the_release_step_creates_every_declared_schedule_on_an_empty_database(released):
    rows = released.database.query("SELECT name, func, repeats FROM django_q_schedule")
    assert {(name, func) for name, func, _ in rows} == {
        (spec["name"], spec["func"]) for spec in SCHEDULES
    }
    assert {repeats for _, _, repeats in rows} == {-1}  # forever


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
