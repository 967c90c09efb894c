"""Bench: a fresh clone's first `make run`, to its home page served.

Clones this repository's committed HEAD into a temporary folder, runs `make run` there on a
free port with the environment a newcomer has (no DATABASE_URL, REDIS_URL or settings
module: SQLite, the local-memory cache, the database as broker) and polls the home page
until it answers 200. Package installation is included: the clone has no virtualenv, so
`make` creates one and installs the requirements, from the package cache when it is warm
as on any machine that has installed them once. The whole process group is stopped and
the clone deleted afterwards.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = int(os.environ.get("BENCH_FIRST_RUN_TIMEOUT", "600"))
# Lines of `make run`'s output that mark a step, and the step each starts.
STEPS = {
    r"-m venv": "install",
    r"manage.py migrate": "migrate",
    r"manage.py setup_demo": "demo data",
    r"^Serving on": "serve",
}
NEWCOMER_UNSET = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "DEBUG")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def measure() -> dict:
    """Seconds from `make run` to the home page served, and when each step began."""
    folder = Path(tempfile.mkdtemp(prefix="tcg-first-run-"))
    clone = folder / "clone"
    env = {key: value for key, value in os.environ.items() if key not in NEWCOMER_UNSET}
    env["PATH"] = ":".join(part for part in env.get("PATH", "").split(":") if ".venv" not in part)
    try:
        subprocess.run(
            ["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, capture_output=True
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        log_path = folder / "make-run.log"
        started = time.perf_counter()
        marks: dict[str, float] = {}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                ["make", "run", f"PORT={port}"],
                cwd=clone,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            served = False
            try:
                while time.perf_counter() - started < TIMEOUT:
                    _note_steps(log_path, marks, started)
                    if process.poll() is not None:
                        break
                    if _answers(url):
                        served = True
                        break
                    time.sleep(0.25)
                seconds = time.perf_counter() - started
            finally:
                _stop(process)
        _note_steps(log_path, marks, started)
        steps = ", ".join(
            f"{name} {end - begin:.0f} s"
            for (name, begin), end in zip(
                marks.items(), [*list(marks.values())[1:], seconds], strict=True
            )
        )
        tail = log_path.read_text(errors="replace")[-2000:] if not served else ""
        return {"seconds": seconds, "served": served, "steps": steps, "log_tail": tail}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _note_steps(log_path: Path, marks: dict, started: float) -> None:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return
    for pattern, name in STEPS.items():
        if name not in marks and re.search(pattern, text, re.MULTILINE):
            marks[name] = time.perf_counter() - started


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


if __name__ == "__main__":
    figures = measure()
    print(f"{figures['seconds']:.1f} s, served: {figures['served']} ({figures['steps']})")
    if figures["log_tail"]:
        print(figures["log_tail"])
