"""Keeping credentials out of messages and logs.

`scrub(text, secrets)` masks each secret in every form it travels in (raw, URL-encoded,
base64 as in Basic auth) and any value of a parameter named like a secret (`t=`,
`token=`, `client_secret=` …) or after "Bearer"/"Basic".

The secrets this process knows — source credentials, and the tokens sources hand out,
which an error body may echo bare — are remembered here (`remember`), and
`ScrubSecretsFilter`, set on the log handlers in settings.LOGGING, masks them in every
log line, whichever logger wrote it: urllib3's own URLs, a client's warning, a task's
traceback.
"""

import base64
import functools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
SECRET_QUERY_PARAMS = ("t", "token", "api_key", "key", "access_token", "client_secret")
# A parameter name starts the query, follows a separator, or both percent-encoded (a URL
# inside another URL); its value runs to the next separator.
_SECRET_PARAM_RE = re.compile(
    r"(?:(?<![\w.-])|(?<=%3F)|(?<=%26))"
    r"((?:" + "|".join(SECRET_QUERY_PARAMS) + r")(?:=|%3D))"
    r"(?:(?!%26)[^&#\s'\"<>])+",
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=^#%-]{8,}")
# Tokens are minted every hour or two: remember the latest ones, not every one ever.
MAX_REMEMBERED = 256


def secret_forms(secrets: Iterable[str]) -> set[str]:
    """Each secret as it may appear in a URL, a body or a log line."""
    forms = set()
    for secret in secrets:
        if secret:
            forms.update({secret, quote(secret, safe=""), quote(secret), quote_plus(secret)})
    return forms


def basic_auth_form(user: str, password: str) -> str:
    """The base64 an Authorization: Basic header carries, which is the password too."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _secrets_pattern(secrets: Iterable[str]) -> re.Pattern | None:
    return _compiled_pattern(tuple(secrets))


@functools.lru_cache(maxsize=64)
def _compiled_pattern(secrets: tuple[str, ...]) -> re.Pattern | None:
    """Compiled once per set of secrets: the log filter asks on every line."""
    forms = secret_forms(secrets)
    if not forms:
        return None
    # Longest first, so a secret containing another is masked whole. Case-insensitive:
    # percent-encoding may use lower-case hex; over-masking is harmless.
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(alternatives, re.IGNORECASE)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """text with every secret (in any of its forms) and secret-looking parameter masked."""
    text = str(text)
    pattern = _secrets_pattern(secrets)
    if pattern is not None:
        text = pattern.sub(MASK, text)
    text = _SECRET_PARAM_RE.sub(lambda match: match.group(1) + MASK, text)
    return _BEARER_RE.sub(lambda match: f"{match.group(1)} {MASK}", text)


def contains_secret(text: str | bytes | None, secrets: Iterable[str]) -> bool:
    if not text:
        return False
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    pattern = _secrets_pattern(secrets)
    return pattern is not None and pattern.search(text) is not None


_remembered: OrderedDict[str, None] = OrderedDict()
_remembered_lock = threading.Lock()


def remember(secrets: Iterable[str]) -> None:
    """Mask these in every log line of this process from now on."""
    with _remembered_lock:
        for secret in secrets:
            if secret:
                _remembered[secret] = None
                _remembered.move_to_end(secret)
        while len(_remembered) > MAX_REMEMBERED:
            _remembered.popitem(last=False)


def remembered() -> list[str]:
    with _remembered_lock:
        return list(_remembered)


class ScrubSecretsFilter(logging.Filter):
    """Masks remembered secrets (and secret-looking parameters) in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # logging reports its own formatting errors
        cleaned = scrub(message, remembered())
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback is formatted from the exception itself: format it once here,
            # scrubbed, and let handlers print that text instead.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(formatted, remembered())
        return True
