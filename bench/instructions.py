"""Instructions a page row's request costs this process, counted by valgrind's callgrind.

    .venv/bin/python bench/instructions.py ["card page"] [requests]

A page's time moves by a tenth from one run to the next on a shared VM, more than most
changes to its Python; the instructions its process runs do not (the same count to a
tenth of a percent, whatever else the machine does). Only this process is counted, its
Python and the driver's side of each query, not the database server's work. Comparing
two versions of the code needs the same bench data: an import adds price lines to every
card, and with them rows to the card page.

It runs the bench's page row (bench/run.py: the same client and addresses) under
`valgrind --tool=callgrind` with counting off, warms it up, then counts the requests
alone, switching counting on and off with `callgrind_control`. valgrind is Debian's
package of that name.
"""

import logging
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNDER_VALGRIND = "BENCH_UNDER_CALLGRIND"


def count_here(label: str, requests: int) -> None:
    """Inside valgrind: warm the row up, then count its requests."""
    bench = runpy.run_path(str(ROOT / "bench" / "run.py"), run_name="instructions")
    bench["prepare"]()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As `make bench` runs: no access log line per request.
    logging.getLogger("tcgtracker.requests").setLevel(logging.WARNING)
    rows = [
        (client, urls) for client, name, urls in bench["page_specs"]() if name.startswith(label)
    ]
    if not rows:
        sys.exit(f"No page row starts with {label!r}.")
    client, urls = rows[0]
    for _ in range(2):
        for url in urls:
            client.get(url)
    control = ["callgrind_control", "--instr=on", str(os.getpid())]
    subprocess.run(control, check=True, capture_output=True)
    for n in range(requests):
        client.get(urls[n % len(urls)])
    control[1] = "--instr=off"
    subprocess.run(control, check=True, capture_output=True)


def main() -> int:
    label = sys.argv[1] if len(sys.argv) > 1 else "card page"
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    if os.environ.get(UNDER_VALGRIND):
        count_here(label, requests)
        return 0
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind).")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                label,
                str(requests),
            ],
            env={**os.environ, UNDER_VALGRIND: "1"},
            capture_output=True,
            text=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not found:
        sys.stderr.write(done.stderr[-3000:])
        return done.returncode or 1
    per_request = int(found[1]) / requests
    print(f"{label}: {per_request / 1e6:.2f} million instructions a request ({requests} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
