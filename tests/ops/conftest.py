"""A database set up the way a deploy sets one up: the Procfile's release step, run by a
shell on an empty database with production settings."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.pricecharting import FakePriceCharting
from tests.fakes.server import FakeServer, Reply
from tests.services import PYTHON, ROOT, ScratchDatabase, manage, production_env

CARDS = 40  # two sync batches of 20
SECONDS_PER_CARD = 0.08


def release_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("release:"):
            return line.removeprefix("release:").strip()
    raise AssertionError("the Procfile has no release step")


@dataclass
class Released:
    database: ScratchDatabase
    env: dict
    outputs: list[str]


def run_release(env: dict) -> str:
    result = subprocess.run(
        release_command(), shell=True, cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """An empty database after two deploys' release steps (the second one a no-op)."""
    database = ScratchDatabase(tmp_path_factory.mktemp("released"), "released").create()
    # `python` in the Procfile is whatever python the operator's PATH finds: this one.
    path = f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = production_env(database.url, PATH=path)
    try:
        outputs = [run_release(env), run_release(env)]
        yield Released(database, env, outputs)
    finally:
        database.drop()


def make_cards(env: dict, code: str) -> list[str]:
    """A set of CARDS cards with PriceCharting ids, made in the database of `env`; the ids."""
    ids = [f"{code}-{n}" for n in range(1, CARDS + 1)]
    script = (
        "from cards.models import Card, CardSet\n"
        f"s = CardSet.objects.create(game='pokemon', code={code!r}, name={code!r}, total={CARDS})\n"
        f"for n, pid in enumerate({ids!r}, start=1):\n"
        "    Card.objects.create(card_set=s, number=f'{n}', name='Card', pricecharting_id=pid)\n"
    )
    manage("shell", "--no-imports", "-c", script, env=env)
    return ids


@pytest.fixture
def slow_pricecharting():
    """A PriceCharting on loopback that takes SECONDS_PER_CARD to answer each product."""
    with FakeServer() as server:
        fake = FakePriceCharting(server)
        answer = server.routes[("GET", "/api/product")]
        server.route(
            "GET",
            "/api/product",
            lambda request: Reply(**{**vars(answer(request)), "delay": SECONDS_PER_CARD}),
        )
        yield fake
