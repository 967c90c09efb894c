"""A database set up the way a deploy sets one up: the Procfile's release step, run by a
shell on an empty database with production settings."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import PYTHON, ROOT, ScratchDatabase, production_env


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
