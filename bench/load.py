"""Bench: requests per second under `wrk` for a card page against a trivial view, both
served by the same gunicorn.

gunicorn (2 workers) runs on 127.0.0.1 (a free port) against the bench database with
production settings: DEBUG off, a SECRET_KEY, Redis as the cache. wrk runs for a bounded
time on each address in turn, twice; the server is stopped afterwards whatever happens.
"""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THREADS, CONNECTIONS = 2, 32
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "5"))
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "2"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
TRIVIAL = "/bench/trivial/"
ROUNDS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrk_missing() -> str:
    """Why the load test cannot run, or "" when it can."""
    if not shutil.which("wrk"):
        return "wrk is not installed (apt-get install -y wrk)"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        return "gunicorn is not installed in the virtualenv"
    return ""


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout:.0f} s")


def parse_wrk(output: str) -> dict:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = re.search(r"Latency\s+([\d.]+\w+)\s+([\d.]+\w+)\s+([\d.]+\w+)", output)
    return {
        "rate": float(rate.group(1)) if rate else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "errors": (int(non_2xx.group(1)) if non_2xx else 0)
        + (sum(int(n) for n in sockets.groups()) if sockets else 0),
        "latency": latency.group(1) if latency else "?",
    }


def _wrk(url: str) -> dict:
    completed = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", url],
        capture_output=True,
        text=True,
        timeout=SECONDS + 30,
        check=False,
    )
    return parse_wrk(completed.stdout) | {"output": completed.stdout + completed.stderr}


def _combine(runs: list[dict]) -> dict:
    return {
        "rate": sum(run["rate"] for run in runs) / len(runs),
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "latency": " / ".join(run["latency"] for run in runs),
        "output": "".join(run["output"] for run in runs),
    }


def run_load(path: str, database_url: str) -> dict:
    """wrk against `path` and the trivial view in turn on a fresh gunicorn; returns the
    figures of each ("page", "trivial"), averaged over the rounds."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": "bench",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "tcgtracker.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
    ]
    url = f"http://127.0.0.1:{port}{path}"
    trivial = f"http://127.0.0.1:{port}{TRIVIAL}"
    pages, trivials = [], []
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                _wait_until_up(url, server)
            except RuntimeError as exc:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{exc}:\n{tail}") from None
            for _ in range(20):  # every worker warm: templates compiled, connection open
                urllib.request.urlopen(url, timeout=5).read()
                urllib.request.urlopen(trivial, timeout=5).read()
            for _ in range(ROUNDS):
                trivials.append(_wrk(trivial))
                pages.append(_wrk(url))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return {"page": _combine(pages), "trivial": _combine(trivials), "workers": WORKERS}
