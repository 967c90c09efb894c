"""Log lines in plain text or, with LOG_FORMAT=json, as one JSON object per line; each
carries the id of the request being answered or of the job run being run.

    with logs.context(job_run_id=run.pk):
        logger.info("...")            # {"time": ..., "message": "...", "job_run_id": 42}

No Django imports: gunicorn's own configuration uses the formatter too.
"""

import contextlib
import contextvars
import datetime as dt
import json
import logging

CONTEXT_FIELDS = ("request_id", "job_run_id")
# What a record may carry through `extra=` that belongs in its JSON object.
EXTRA_FIELDS = ("method", "route", "status", "duration_ms")

_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("log_context", default=None)


@contextlib.contextmanager
def context(**values):
    """Every line logged in this block (in this thread or task) carries `values`."""
    token = _context.set({**(_context.get() or {}), **values})
    try:
        yield
    finally:
        _context.reset(token)


def current(name: str):
    return (_context.get() or {}).get(name)


class ContextFilter(logging.Filter):
    """Puts the current request and job run ids on each record passing the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = _context.get() or {}
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, values.get(name))
        return True


class PlainFormatter(logging.Formatter):
    """The classic line, with the request or job run id in brackets when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [
            f"{name}={value}"
            for name in CONTEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        return f"{line} [{' '.join(ids)}]" if ids else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*CONTEXT_FIELDS, *EXTRA_FIELDS):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
