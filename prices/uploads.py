"""Staff price-guide uploads, stored on disk until their import ends.

Kept by name in var/uploads/ (the directory every process of a one-machine install
shares); a JobRun names the file it imports, so a run that lost its worker can be tried
again from it.
"""

import datetime as dt
import uuid
from pathlib import Path

from django.conf import settings

UPLOAD_DIR = settings.BASE_DIR / "var" / "uploads"
PREFIX = "price-guide-"


def save(upload) -> str:
    """Store an uploaded file; its name for path() and delete()."""
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    name = f"{PREFIX}{uuid.uuid4().hex}.csv"
    with path(name).open("wb") as destination:
        for chunk in upload.chunks():
            destination.write(chunk)
    return name


def path(name: str) -> Path:
    # Only a bare name of ours, never a path someone could point elsewhere.
    if not name.startswith(PREFIX) or Path(name).name != name:
        raise ValueError(f"not an upload name: {name!r}")
    return UPLOAD_DIR / name


def delete(name: str) -> None:
    path(name).unlink(missing_ok=True)


def older_than(cutoff: dt.datetime) -> list[str]:
    """Names of the stored uploads last written before `cutoff`."""
    if not UPLOAD_DIR.is_dir():
        return []
    limit = cutoff.timestamp()
    return sorted(
        entry.name
        for entry in UPLOAD_DIR.glob(f"{PREFIX}*")
        if entry.is_file() and entry.stat().st_mtime < limit
    )
