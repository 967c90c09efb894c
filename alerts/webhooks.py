"""Webhook channels: where a destination may point, what each format sends, one send.

Destinations (check_destination): https only (plain http too with DEBUG or
WEBHOOK_ALLOW_PRIVATE), no credentials in the address, and the host must resolve to public
addresses only — every address it resolves to, since a client may connect to any of them.
That is checked when a channel is saved, and again by the connection itself
(GuardedAdapter): it refuses a peer that is not public, so a DNS answer that changes after
the check (rebinding) still cannot reach an internal service. Redirects are never followed
and proxies from the environment are not used. WEBHOOK_ALLOW_PRIVATE lifts the address
rule, for a self-hosted chat server on the LAN. The Telegram API's address is the
operator's (TELEGRAM_API_URL), so it is not checked.

Secrets: a webhook URL is its own credential, as is a bot token; every error message is
scrubbed of the channel's secrets, and they are remembered (tcgtracker.lib.secrets) so the
log filters mask them in any line, urllib3's own included.

Signed JSON: the body is signed with HMAC-SHA256 over "<timestamp>.<body>" with the
channel's secret; `X-Signature: sha256=<hex>` and `X-Timestamp: <unix seconds>` travel with
it (docs/notifications.md has the payload and a verification snippet).
"""

import datetime as dt
import hashlib
import hmac
import html
import ipaddress
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from alerts.models import Alert, AlertEvent, Channel
from prices import keys
from prices.models import Source
from tcgtracker.lib.http import CircuitBreaker, CircuitOpen
from tcgtracker.lib.money import format_money
from tcgtracker.lib.secrets import remember, scrub
from tcgtracker.lib.urls import absolute_url

TIMEOUT = (5, 10)  # connect, read: a chat service answers in well under a second
ERROR_EXCERPT = 200
ANSWER_BYTES = 4096
BREAKER_FAILURES = 5  # transient failures in a row before a destination is left alone
BREAKER_COOLDOWN = 600  # seconds
USER_AGENT = "TCG-Price-Tracker-Webhooks/1"


class DeliveryError(Exception):
    """The destination did not take the message. `permanent`: trying again will not help
    (an unknown webhook, a revoked bot); `retry_after`: seconds the service asked for."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class BreakerOpen(DeliveryError):
    """The destination failed too often lately: not called until its cool-down ends."""

    def __init__(self, message: str):
        super().__init__(message, permanent=False, retry_after=BREAKER_COOLDOWN)


class DestinationRefused(Exception):
    """Raised by a guarded connection whose peer is not a public address."""


# --- Where a destination may point ---------------------------------------------------------


def allow_private() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False))


def address_is_allowed(address: str) -> bool:
    if allow_private():
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global leaves out loopback, private, link-local, shared (CGNAT), reserved and
    # unspecified ranges; multicast is no place for a POST either.
    return ip.is_global and not ip.is_multicast


def check_destination(url: str) -> str | None:
    """Why a channel may not point at `url`, or None when it may."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Address: not a valid URL."
    allowed_schemes = ("https", "http") if settings.DEBUG or allow_private() else ("https",)
    if parts.scheme not in allowed_schemes:
        return "Address: must start with https://."
    host = parts.hostname
    if not host:
        return "Address: must name a host."
    if parts.username or parts.password:
        return "Address: must not hold a user name or password."
    try:
        found = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError, OSError):
        return f"Address: the host {host} could not be found."
    addresses = {info[4][0] for info in found}
    if not addresses or not all(address_is_allowed(address) for address in addresses):
        return (
            f"Address: {host} is a private, loopback or reserved address; webhooks may only "
            "go to public internet addresses."
        )
    return None


class _GuardedConnectionMixin:
    def _new_conn(self):
        # Before connecting (not even a SYN to an internal address), and after, on the
        # address actually connected to, in case DNS answered differently in between.
        host = getattr(self, "_dns_host", self.host)
        try:
            found = {
                info[4][0] for info in socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
            }
        except OSError:
            found = set()  # the connection's own lookup fails and says why
        refused = sorted(address for address in found if not address_is_allowed(address))
        if refused:
            raise DestinationRefused(
                f"refused to connect to {refused[0]}: not a public internet address"
            )
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if not address_is_allowed(peer):
            sock.close()
            raise DestinationRefused(f"refused to connect to {peer}: not a public internet address")
        return sock


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Connects only to public addresses, whatever DNS said when the URL was checked."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


# --- What is sent ---------------------------------------------------------------------------


@dataclass
class Message:
    """One alert trigger (or a test) as every format reads it."""

    kind: str  # "alert.triggered" or "test"
    title: str
    headline: str
    url: str = ""
    image_url: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    data: dict = field(default_factory=dict)  # the signed-JSON payload's own fields


def event_message(event: AlertEvent) -> Message:
    alert = event.alert
    card = alert.card
    # The rule as it stood when it fired, even if the alert was edited since.
    if event.threshold is not None:
        alert.threshold = event.threshold
    if event.percent is not None:
        alert.percent = event.percent
    source_label = Source(event.source).label if event.source in Source.values else event.source
    key_label = keys.label(alert.price_key)
    card_url = absolute_url(card.get_absolute_url())
    title = f"{card.name} — {card.card_set.name} · {card.display_number}"
    if card.variant:
        title += f" · {card.variant_label}"
    change = ""
    if event.change is not None:
        change = f"{event.change:+.1f}%".replace("-", "−")
        change += f" in {alert.get_window_display()}" if alert.kind == Alert.Kind.MOVE else ""
    facts = [("Price", format_money(event.price)), ("Source", source_label)]
    if change:
        facts.insert(1, ("Change", change))
    if event.previous_price is not None:
        facts.append(("Was", format_money(event.previous_price)))
    note = ""
    if event.source == Source.DEMO:
        note = "Simulated price from the demo source, not a real market price."
    elif event.source == Source.EBAY:
        note = "eBay prices are asking prices of current listings, not sales."
    return Message(
        kind="alert.triggered",
        title=title,
        headline=f"{key_label} at {source_label}: {alert.condition_in_words()}",
        url=card_url,
        image_url=card.image_url if card.image_url.startswith("https://") else "",
        facts=facts,
        note=note,
        data={
            "alert": {
                "id": alert.pk,
                "rule": alert.in_words(),
                "kind": alert.kind,
                "threshold_cents": alert.threshold if alert.kind != Alert.Kind.MOVE else None,
                "percent": float(alert.percent) if alert.kind == Alert.Kind.MOVE else None,
                "window": alert.window,
                "price_key": alert.price_key,
                "source": alert.source or None,
                "url": absolute_url(alert.get_absolute_url()),
            },
            "card": {
                "id": card.pk,
                "name": card.name,
                "set": card.card_set.name,
                "number": card.display_number,
                "variant": card.variant_label if card.variant else None,
                "url": card_url,
                "image_url": card.image_url or None,
            },
            "price": {
                "source": event.source,
                "price_key": alert.price_key,
                "cents": event.price,
                "currency": "USD",
                "formatted": format_money(event.price),
                "previous_cents": event.previous_price,
                "change_percent": event.change,
                "observed_at": event.observed_at.isoformat(),
                "simulated": event.source == Source.DEMO,
            },
            "triggered_at": event.triggered_at.isoformat(),
        },
    )


def test_message(channel: Channel) -> Message:
    return Message(
        kind="test",
        title=f"Test from {settings.SITE_NAME}",
        headline=f"This channel ({channel.name}) works: alerts will arrive here.",
        url=absolute_url("/alerts/channels/"),
        data={"channel": {"id": channel.pk, "name": channel.name}},
    )


def discord_payload(message: Message) -> dict:
    embed = {
        "title": message.title[:256],
        "description": message.headline[:4000],
        "color": 0x2563EB,
        "fields": [
            {"name": name, "value": value[:1024], "inline": True} for name, value in message.facts
        ],
    }
    if message.url:
        embed["url"] = message.url
    if message.image_url:
        embed["thumbnail"] = {"url": message.image_url}
    if message.note:
        embed["footer"] = {"text": message.note}
    # A card name is not allowed to ping @everyone.
    return {"username": settings.SITE_NAME, "embeds": [embed], "allowed_mentions": {"parse": []}}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict:
    title = _slack_escape(message.title)
    if message.url:
        title = f"<{message.url}|{title}>"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}}
    if message.image_url:
        section["accessory"] = {
            "type": "image",
            "image_url": message.image_url,
            "alt_text": message.title[:2000],
        }
    blocks = [
        section,
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.headline)}},
    ]
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_slack_escape(name)}*\n{_slack_escape(value)}"}
                    for name, value in message.facts
                ],
            }
        )
    if message.note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": message.note}]})
    # `text` is what notifications and clients without blocks show.
    return {"text": f"{message.title}: {message.headline}", "blocks": blocks}


def telegram_text(message: Message) -> str:
    lines = [f"<b>{html.escape(message.title)}</b>", html.escape(message.headline)]
    if message.facts:
        lines.append(" · ".join(f"{html.escape(n)}: {html.escape(v)}" for n, v in message.facts))
    if message.note:
        lines.append(f"<i>{html.escape(message.note)}</i>")
    if message.url:
        lines.append(f'<a href="{html.escape(message.url)}">Open the card</a>')
    return "\n".join(lines)


def json_payload(message: Message, delivery_id: str) -> dict:
    return {
        "type": message.kind,
        "id": delivery_id,
        "sent_at": dt.datetime.now(dt.UTC).isoformat(),
        "title": message.title,
        "text": message.headline,
        **message.data,
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


# --- One send --------------------------------------------------------------------------------


def breaker_for(channel: Channel) -> CircuitBreaker:
    return CircuitBreaker(
        f"webhook-{channel.pk}", failure_threshold=BREAKER_FAILURES, cooldown=BREAKER_COOLDOWN
    )


def send(channel: Channel, message: Message, *, delivery_id: str = "") -> None:
    """Deliver one message to one channel, through its circuit breaker; DeliveryError
    (BreakerOpen among them) when the destination did not take it."""
    breaker = breaker_for(channel)
    try:
        breaker.before_call()
    except CircuitOpen as error:
        raise BreakerOpen(f"{channel.label}: {error}") from None
    try:
        _post(channel, message, delivery_id or str(uuid.uuid4()))
    except DeliveryError as error:
        if error.permanent:
            breaker.record_neutral()
        else:
            breaker.record_failure()
        raise
    except BaseException:
        breaker.record_neutral()
        raise
    breaker.record_success()


def _post(channel: Channel, message: Message, delivery_id: str) -> None:
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    guarded = True
    if channel.kind == Channel.Kind.DISCORD:
        url, payload = channel.url, discord_payload(message)
    elif channel.kind == Channel.Kind.SLACK:
        url, payload = channel.url, slack_payload(message)
    elif channel.kind == Channel.Kind.TELEGRAM:
        base = settings.TELEGRAM_API_URL.rstrip("/")
        url = f"{base}/bot{channel.bot_token}/sendMessage"
        payload = {
            "chat_id": channel.chat_id,
            "text": telegram_text(message),
            "parse_mode": "HTML",
        }
        guarded = False
    else:
        url, payload = channel.url, json_payload(message, delivery_id)
    body = json.dumps(payload, ensure_ascii=False).encode()
    if channel.kind == Channel.Kind.JSON:
        timestamp = str(int(time.time()))
        headers.update(
            {
                "X-Timestamp": timestamp,
                "X-Signature": sign(channel.signing_secret, timestamp, body),
                "X-Webhook-Id": delivery_id,
            }
        )
    secrets = channel.secrets
    remember(secrets)
    where = channel.label

    session = requests.Session()
    # An environment proxy would connect to a user's address on our behalf, unchecked; the
    # operator's own Telegram API address may need it.
    session.trust_env = not guarded
    adapter = GuardedAdapter(max_retries=0) if guarded else HTTPAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    error: DeliveryError | None = None
    response = None
    try:
        # Streamed: only the first bytes of the answer are read, however much is sent.
        response = session.post(
            url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
        )
        answer = next(response.iter_content(ANSWER_BYTES), b"")
        response.close()
    except DestinationRefused as refused:
        error = DeliveryError(f"{where}: {refused}", permanent=True)
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as failed:
        error = DeliveryError(
            scrub(f"{where}: could not reach the service: {_reason(failed)}", secrets),
            permanent=False,
        )
    except requests.RequestException as failed:
        error = DeliveryError(
            scrub(f"{where}: the request failed: {_reason(failed)}", secrets), permanent=True
        )
    finally:
        session.close()
    if error is not None:
        raise error  # outside the except block: no unscrubbed exception rides along
    _check_answer(response, answer, channel, where, secrets)


def _reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else exc
    inner = getattr(reason, "reason", None)
    if isinstance(inner, Exception):
        reason = inner
    return type(reason).__name__ if not str(reason) else f"{type(reason).__name__}: {reason}"


def _check_answer(
    response: requests.Response, answer: bytes, channel: Channel, where: str, secrets
) -> None:
    status = response.status_code
    try:
        text = answer.decode(response.encoding or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        text = answer.decode("utf-8", "replace")
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if 200 <= status < 300:
        if channel.kind == Channel.Kind.TELEGRAM and not (
            isinstance(data, dict) and data.get("ok") is True
        ):
            raise DeliveryError(
                scrub(f"{where}: Telegram did not confirm the message: {text[:200]}", secrets),
                permanent=True,
            )
        return
    excerpt = " ".join(_error_text(data, text).split())[:ERROR_EXCERPT]
    message = scrub(f"{where}: HTTP {status}" + (f": {excerpt}" if excerpt else ""), secrets)
    if 300 <= status < 400:
        raise DeliveryError(
            f"{message} (a redirect; webhooks do not follow redirects)", permanent=True
        )
    if status == 429:
        raise DeliveryError(message, permanent=False, retry_after=_retry_after(response, data))
    if status >= 500 or status == 408:
        raise DeliveryError(message, permanent=False)
    raise DeliveryError(message, permanent=True)


def _error_text(data, text: str) -> str:
    """The service's own words: Discord's "message", Telegram's "description", Slack's
    plain-text error code."""
    if isinstance(data, dict):
        for name in ("description", "message", "error"):
            if isinstance(data.get(name), str):
                return data[name]
    return text


def _retry_after(response: requests.Response, data) -> float | None:
    candidates = [response.headers.get("Retry-After")]
    if isinstance(data, dict):
        candidates.append(data.get("retry_after"))  # Discord, in seconds
        parameters = data.get("parameters")
        if isinstance(parameters, dict):
            candidates.append(parameters.get("retry_after"))  # Telegram
    for value in candidates:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None
