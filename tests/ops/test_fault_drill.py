"""The fault drill: the production stack on this machine — PostgreSQL, a Redis of its own,
gunicorn with two workers and a django-q2 cluster, set up by the Procfile's release step —
then Redis is stopped under it, and a worker is killed in the middle of a sync.

    CI_DATABASE_URL=postgres://... pytest -m drill      (.ci/run does this)

It runs on PostgreSQL only (skipped on SQLite) and takes tens of seconds.
"""

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.pricecharting import TOKEN as PRICECHARTING_TOKEN
from tests.ops.conftest import CARDS, make_cards, run_release
from tests.services import (
    PYTHON,
    RedisServer,
    ScratchDatabase,
    free_port,
    manage,
    production_env,
    require,
    spawn,
    stop,
    wait_for,
)

pytestmark = pytest.mark.drill

STAFF_EMAIL, STAFF_PASSWORD = "ops@example.com", "drill-staff-password-1"
METRICS_TOKEN = "drill-metrics-token-" + "m" * 20


@dataclass
class Stack:
    database: ScratchDatabase
    redis: RedisServer
    env: dict
    base: str
    web: object
    web_log: Path
    worker: object
    worker_log: Path
    api_key: str

    def get(self, path: str, session=None, **kwargs) -> requests.Response:
        return (session or requests).get(self.base + path, timeout=20, **kwargs)

    def health(self) -> dict:
        return self.get("/health/").json()

    def start_worker(self, log_name: str):
        self.worker_log = self.web_log.parent / log_name
        self.worker = spawn([PYTHON, "manage.py", "qcluster"], env=self.env, log=self.worker_log)

    def log_in(self) -> requests.Session:
        session = requests.Session()
        page = self.get("/accounts/login/", session)
        assert page.status_code == 200
        answer = session.post(
            self.base + "/accounts/login/",
            data={
                "login": STAFF_EMAIL,
                "password": STAFF_PASSWORD,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            allow_redirects=False,
            timeout=20,
        )
        assert answer.status_code == 302, answer.text[:500]
        return session


SETUP = f"""
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from api.models import ApiKey
user = get_user_model().objects.create_user(
    "ops", {STAFF_EMAIL!r}, {STAFF_PASSWORD!r}, is_staff=True
)
EmailAddress.objects.create(user=user, email={STAFF_EMAIL!r}, verified=True, primary=True)
print(ApiKey.issue(user, "drill")[1])
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, slow_pricecharting_module):
    database = ScratchDatabase(tmp_path_factory.mktemp("drill"), "drill")
    if database.vendor != "postgresql":
        pytest.skip("the fault drill runs on PostgreSQL (CI_DATABASE_URL; .ci/run's drill step)")
    require("gunicorn", shutil.which("gunicorn", path=str(Path(PYTHON).parent)) is not None)
    logs = tmp_path_factory.mktemp("drill-logs")
    redis = RedisServer().start()
    database.create()
    port = free_port()
    env = production_env(
        database.url,
        REDIS_URL=redis.url,
        PATH=f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        LOG_FORMAT="json",
        METRICS_TOKEN=METRICS_TOKEN,
        Q_WORKERS=1,
        PRICECHARTING_TOKEN=PRICECHARTING_TOKEN,
        PRICECHARTING_BASE_URL=slow_pricecharting_module.server.url,
        PRICECHARTING_CALLS_PER_MINUTE=100000,
        JOB_HEARTBEAT_SECONDS=1,
        JOB_STALE_AFTER_SECONDS=3,
    )
    web = stack = None
    try:
        run_release(env)
        manage("collectstatic", "--noinput", env=env)
        manage("load_catalog", "--demo", env=env)
        api_key = manage("shell", "--no-imports", "-c", SETUP, env=env).stdout.split()[-1]
        web_log = logs / "gunicorn.log"
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        # The Procfile's web process, bound to loopback only.
        web = spawn(
            [gunicorn, "tcgtracker.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env,
            log=web_log,
        )
        stack = Stack(
            database, redis, env, f"http://127.0.0.1:{port}", web, web_log, None, None, api_key
        )
        stack.start_worker("qcluster.log")
        wait_for(
            lambda: _answers(stack) and stack.health()["status"] == "ok",
            timeout=60,
            what="the stack to report ok on /health/",
        )
        yield stack
    finally:
        if web is not None:
            stop(web)
        if stack is not None:
            stop(stack.worker, group=False)
        redis.stop()
        database.drop()


@pytest.fixture(scope="module")
def slow_pricecharting_module():
    from tests.fakes.pricecharting import FakePriceCharting
    from tests.fakes.server import FakeServer, Reply

    with FakeServer() as server:
        fake = FakePriceCharting(server)
        answer = server.routes[("GET", "/api/product")]
        server.route(
            "GET", "/api/product", lambda request: Reply(**{**vars(answer(request)), "delay": 0.1})
        )
        yield fake


def _answers(stack: Stack) -> bool:
    try:
        return stack.get("/health/").status_code == 200
    except requests.ConnectionError:
        return False


def crawl(stack: Stack) -> list[tuple[str, int]]:
    """Every kind of public page, the API, /metrics and a log-in: (what, status) of each
    response, redirects included."""
    card_id, set_code = stack.database.query(
        "SELECT c.id, s.code FROM cards_card c JOIN cards_cardset s ON s.id = c.card_set_id "
        "WHERE s.game = 'pokemon' ORDER BY c.id LIMIT 1"
    )[0]
    seen = []
    paths = [
        "/",
        "/cards/",
        "/cards/?q=charizard",
        "/cards/?q=pikachu&game=pokemon&sort=name",
        f"/cards/{card_id}/",
        f"/cards/{card_id}/prices/history/?period=30d",
        "/sets/",
        f"/sets/pokemon/{set_code}/",
        "/movers/",
        "/movers/?game=onepiece&period=7d",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/api/v1/openapi.json",
        "/health/",
    ]
    for path in paths:
        response = stack.get(path)
        seen += [(f"{path} -> {hop.status_code}", hop.status_code) for hop in response.history]
        seen.append((path, response.status_code))
    api = stack.get("/api/v1/cards?q=charizard", headers={"X-API-Key": stack.api_key})
    seen.append(("/api/v1/cards", api.status_code))
    metrics = stack.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    seen.append(("/metrics", metrics.status_code))
    session = stack.log_in()
    seen.append(("/collections/ (logged in)", stack.get("/collections/", session).status_code))
    seen.append(("/staff/ (logged in)", stack.get("/staff/", session).status_code))
    return seen


def test_with_redis_stopped_pages_and_login_still_answer_and_it_recovers_by_itself(stack):
    assert [status for _, status in crawl(stack) if status >= 400] == []

    stack.redis.stop()
    during = crawl(stack)
    assert [(what, status) for what, status in during if status >= 500] == []
    assert [(what, status) for what, status in during if status >= 400] == []
    health = stack.health()
    assert health["status"] == "degraded" and health["checks"]["cache"] == "unavailable"
    assert health["checks"]["database"] == "ok"

    stack.redis.start()  # the same port, empty, as after a restart
    wait_for(
        lambda: stack.health()["checks"]["cache"] == "ok",
        timeout=30,
        what="the cache to come back on /health/",
    )
    wait_for(lambda: stack.health()["status"] == "ok", timeout=60, what="everything ok again")
    assert [status for _, status in crawl(stack) if status >= 400] == []

    def logged():
        return [json.loads(line) for line in stack.web_log.read_text().splitlines() if line]

    def recovery_logged():
        # Each worker says so on its own next cache call; which worker the kernel hands a
        # request to is its choice, so keep asking until the one that saw the outage answers.
        stack.get("/")
        return any("answers again" in line["message"] for line in logged())

    wait_for(recovery_logged, timeout=30, what="a worker to log that the cache answers again")
    lines = logged()
    outage = [line for line in lines if "is unreachable" in line["message"]]
    assert 1 <= len(outage) <= 2  # once per gunicorn worker, not once per cache call
    requests_logged = [line for line in lines if line["logger"] == "tcgtracker.requests"]
    assert requests_logged and all(line.get("request_id") for line in requests_logged)


def test_metrics_sum_every_gunicorn_worker(stack):
    def served() -> float:
        text = stack.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "tcg_http_requests_total"
            and sample.labels == {"view": "cards:set_list", "method": "GET", "status": "200"}
        )

    before = served()
    for _ in range(20):
        assert stack.get("/sets/").status_code == 200
    # Whichever worker answers the scrape, it reports the requests of both.
    assert served() - before == 20
    assert served() - before == 20


def test_a_worker_killed_in_the_middle_of_a_sync_is_found_dead_and_the_next_run_completes(
    stack, slow_pricecharting_module
):
    for product_id in make_cards(stack.env, "drill1"):
        slow_pricecharting_module.add_product(
            id=product_id, **{"product-name": "x", "loose-price": 1234}
        )
    session = stack.log_in()

    def sync_now():
        page = stack.get("/staff/", session)
        answer = session.post(
            stack.base + "/staff/sources/pricecharting/sync/",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
            headers={"Referer": page.url},
            timeout=20,
        )
        assert answer.status_code == 200, answer.text[:300]

    def runs():
        return stack.database.query(
            "SELECT id, status, progress_done, errors FROM prices_jobrun "
            "WHERE kind = 'price_sync' ORDER BY id"
        )

    sync_now()
    first = wait_for(
        lambda: next((run for run in runs() if run[2] >= 20), None),
        timeout=60,
        interval=0.05,
        what="the sync's first batch",
    )
    workers = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django_q.status import Stat; print(*[w for s in Stat.get_all() for w in s.workers])",
        env=stack.env,
    ).stdout.split()
    assert len(workers) == 1
    os.kill(int(workers[0]), signal.SIGKILL)  # the worker process, mid-batch

    run_id = first[0]
    time.sleep(0.5)
    status, done = stack.database.query(
        "SELECT status, progress_done FROM prices_jobrun WHERE id = %s", (run_id,)
    )[0]
    assert status == "running" and done < CARDS  # dead, and nothing could say so yet
    # The cluster replaces its worker by itself.
    wait_for(lambda: stack.health()["checks"]["workers"] == "ok", timeout=30, what="a worker")

    time.sleep(3.5)  # JOB_STALE_AFTER_SECONDS: its heartbeat has gone stale
    sync_now()
    final = wait_for(
        lambda: next(
            (run for run in runs() if run[0] > run_id and run[1] not in ("queued", "running")),
            None,
        ),
        timeout=60,
        what="the next sync to finish",
    )
    assert final[1] == "succeeded", final
    dead = next(run for run in runs() if run[0] == run_id)
    assert dead[1] == "interrupted" and "stopped answering" in str(dead[3])
    priced = stack.database.query(
        "SELECT count(*) FROM prices_pricepoint p JOIN cards_card c ON c.id = p.card_id "
        "JOIN cards_cardset s ON s.id = c.card_set_id WHERE s.code = 'drill1'"
    )[0][0]
    assert priced == CARDS  # each card priced once: nothing lost, nothing doubled
