"""The documentation says what the code does: README's Jobs table is the schedules list,
and nothing in the repository points at a file that is not in it."""

import re
import subprocess
from pathlib import Path

from tcgtracker.schedules import SCHEDULES, describe_when, jobs_table

ROOT = Path(__file__).resolve().parent.parent
JOBS_BLOCK = re.compile(r"<!-- jobs:[^>]*-->\n(.*?)\n<!-- /jobs -->", re.S)


def test_the_readme_jobs_table_is_the_schedules_list():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = JOBS_BLOCK.search(readme)
    assert found, "README.md has no <!-- jobs: ... --> block"
    assert found[1] == jobs_table(), (
        "README's Jobs table differs from tcgtracker/schedules.py; replace it with:\n\n"
        + jobs_table()
    )


def test_every_schedule_says_when_what_and_by_which_command():
    for spec in SCHEDULES:
        assert spec.get("command") and spec.get("does"), spec["name"]
        assert not describe_when(spec).startswith("cron"), spec["name"]


def test_no_file_cites_a_document_the_repository_does_not_have():
    tracked = subprocess.run(
        ["git", "ls-files", "README.md", "Makefile", "docs/*.md", "*.py", "*.html"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    missing = re.compile(r"\.\./shared|DESIGN\.md|SOURCES\.md|STYLE\.md")
    here = Path(__file__).name
    offenders = [
        f"{name}:{number}"
        for name in tracked
        if not name.endswith(here)
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if missing.search(line)
    ]
    assert offenders == []


def test_every_relative_link_in_the_docs_points_at_a_file():
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.name}: {target}")
    assert broken == []


def test_make_run_gives_web_and_worker_the_site_url_it_serves_on():
    """Emails are written by the worker, which has no request to take a host from: the
    links in them must point where `make run` actually serves (HOST and PORT)."""
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    commands = [line for line in recipe.splitlines() if "manage.py" in line]
    assert any("qcluster" in line for line in commands)
    assert any("runserver" in line and "$(HOST):$(PORT)" in line for line in commands)
    for line in commands:
        assert "SITE_URL=http://$(HOST):$(PORT)" in line, line
