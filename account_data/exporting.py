"""Everything an account holds, as one zip of CSV and JSON files (the format is
docs/account-data.md): the profile, each collection with its items — in the collection
CSV format, so a file imports again — and daily values, the watchlist, the alerts with
their history, the API keys' names (never their hashes) and the collection imports.

Each file is one query (or one per collection for the items), whatever the rows; text a
person typed is escaped as the collection export escapes it, so a spreadsheet does not
run it as a formula. No path inside the zip holds text the user typed.
"""

import csv
import datetime as dt
import io
import json
import zipfile

from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, AlertEvent, Channel, Delivery, EmailPreferences
from api.models import ApiKey
from collections_app import exporting
from collections_app.exporting import dollars, escape_cell
from collections_app.models import CollectionImport, PortfolioSnapshot, Watch

FORMAT = "tcg-price-tracker-account-data/1"

README = """\
Your data from {site}, exported {when} (UTC).

profile.json              your account, email addresses and email preferences
collections.csv           your collections and their settings
collections/<id>.csv      each collection's items, in the collection CSV format
                          (import it into a collection to get the items back)
portfolio_snapshots.csv   each collection's value and cost at the end of each day
watchlist.csv             the cards you watch
alerts.csv                your price alerts
alert_history.csv         every time an alert fired, and what became of its email
alert_channels.csv        your alert channels (Discord, Slack, Telegram, webhooks),
                          their addresses masked (they are secrets)
alert_deliveries.csv      what became of each fired alert's message to each channel
api_keys.csv              your API keys' names and use (never the keys themselves)
collection_imports.csv    the CSV files you imported, and what became of them

Money is in US dollars ("123.45"), times are UTC (ISO 8601).
"""


def _moment(value) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def _csv(header: list[str], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def _text(value: str) -> str:
    return escape_cell(value or "")


def profile(user) -> dict:
    preferences = EmailPreferences.objects.filter(user=user).first()
    return {
        "format": FORMAT,
        "exported_at": _moment(timezone.now()),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": _moment(user.date_joined),
        "last_login": _moment(user.last_login) or None,
        "email_addresses": [
            {"email": address.email, "primary": address.primary, "verified": address.verified}
            for address in user.emailaddress_set.order_by("-primary", "email")
        ],
        "email_preferences": {
            "alert_emails": preferences.alert_emails if preferences else True,
            "daily_digest": preferences.daily_digest if preferences else False,
        },
    }


def _card_columns(card) -> list[str]:
    card_set = card.card_set
    return [str(card.pk), card_set.game, _text(card_set.code), card.number, card.variant,
            _text(card.name)]  # fmt: skip


CARD_HEADER = ["card_id", "game", "set_code", "number", "variant", "card_name"]


def files(user) -> dict[str, str]:
    """Each file of the export by its path in the zip."""
    collections = list(user.card_collections.order_by("pk"))
    found = {
        "README.txt": README.format(site=settings.SITE_NAME, when=_moment(timezone.now())),
        "profile.json": json.dumps(profile(user), ensure_ascii=False, indent=2),
        "collections.csv": _csv(
            [
                "collection_id",
                "name",
                "price_source",
                "price_basis",
                "shared",
                "share_purchase_prices",
                "share_owner_name",
                "created_at",
                "items_file",
            ],
            (
                [
                    c.pk,
                    _text(c.name),
                    c.basis_source,
                    c.basis_key,
                    c.is_shared,
                    c.share_purchase_prices,
                    c.share_owner_name,
                    _moment(c.created_at),
                    f"collections/{c.pk}.csv",
                ]
                for c in collections
            ),
        ),  # fmt: skip
    }
    for collection in collections:
        lines = "".join(exporting.csv_lines(collection))
        found[f"collections/{collection.pk}.csv"] = lines
    snapshots = PortfolioSnapshot.objects.filter(collection__user=user).order_by(
        "collection_id", "day"
    )
    found["portfolio_snapshots.csv"] = _csv(
        ["collection_id", "day", "value", "cost", "priced_items", "unpriced_items"],
        (
            [s.collection_id, s.day.isoformat(), dollars(s.value), dollars(s.cost),
             s.priced_items, s.unpriced_items]
            for s in snapshots
        ),
    )  # fmt: skip
    watches = Watch.objects.filter(user=user).select_related("card__card_set").order_by("pk")
    found["watchlist.csv"] = _csv(
        [*CARD_HEADER, "watched_at"],
        ([*_card_columns(w.card), _moment(w.created_at)] for w in watches),
    )
    alerts = Alert.objects.filter(user=user).select_related("card__card_set").order_by("pk")
    chosen: dict[int, list[int]] = {}
    for alert_id, channel_id in Alert.channels.through.objects.filter(alert__user=user).values_list(
        "alert_id", "channel_id"
    ):
        chosen.setdefault(alert_id, []).append(channel_id)
    found["alerts.csv"] = _csv(
        ["alert_id", *CARD_HEADER, "price_key", "source", "kind", "threshold", "percent",
         "window", "cooldown_hours", "active", "armed", "last_triggered_at",
         "last_triggered_price", "created_at", "email", "channel_ids"],
        (
            [a.pk, *_card_columns(a.card), a.price_key, a.source, a.kind,
             dollars(a.threshold), "" if a.percent is None else f"{a.percent:.2f}",
             a.window, int(a.cooldown.total_seconds() // 3600), a.active, a.armed,
             _moment(a.last_triggered_at), dollars(a.last_triggered_price),
             _moment(a.created_at), a.notify_email,
             " ".join(str(pk) for pk in sorted(chosen.get(a.pk, [])))]
            for a in alerts
        ),
    )  # fmt: skip
    events = AlertEvent.objects.filter(alert__user=user).order_by("alert_id", "triggered_at")
    found["alert_history.csv"] = _csv(
        ["alert_id", "triggered_at", "source", "price", "previous_price", "change_percent",
         "threshold", "percent", "observed_at", "email_status", "email_sent_at"],
        (
            [e.alert_id, _moment(e.triggered_at), e.source, dollars(e.price),
             dollars(e.previous_price), "" if e.change is None else f"{e.change:.2f}",
             dollars(e.threshold), "" if e.percent is None else f"{e.percent:.2f}",
             _moment(e.observed_at), e.email_status, _moment(e.email_sent_at)]
            for e in events
        ),
    )  # fmt: skip
    channels = Channel.objects.filter(user=user).order_by("pk")
    found["alert_channels.csv"] = _csv(
        ["channel_id", "type", "name", "destination", "enabled", "disabled_reason",
         "created_at", "last_delivered_at"],
        (
            [c.pk, c.kind, _text(c.name), c.masked_target, c.enabled, _text(c.disabled_reason),
             _moment(c.created_at), _moment(c.last_delivered_at)]
            for c in channels
        ),
    )  # fmt: skip
    sent = Delivery.objects.filter(channel__user=user).select_related("event")
    found["alert_deliveries.csv"] = _csv(
        ["alert_id", "triggered_at", "channel_id", "status", "attempts", "sent_at", "error"],
        (
            [d.event.alert_id, _moment(d.event.triggered_at), d.channel_id, d.status,
             d.attempts, _moment(d.sent_at), _text(d.error)]
            for d in sent.order_by("event__alert_id", "event__triggered_at", "pk")
        ),
    )  # fmt: skip
    keys = ApiKey.objects.filter(user=user).order_by("pk")
    found["api_keys.csv"] = _csv(
        ["name", "starts_with", "access", "created_at", "last_used_at", "revoked_at"],
        (
            [_text(k.name), k.prefix, k.scope, _moment(k.created_at), _moment(k.last_used_at),
             _moment(k.revoked_at)]
            for k in keys
        ),
    )  # fmt: skip
    imports = CollectionImport.objects.filter(collection__user=user).order_by("pk")
    found["collection_imports.csv"] = _csv(
        ["collection_id", "filename", "format", "status", "created_at", "committed_at",
         "items_created"],
        (
            [i.collection_id, _text(i.filename), i.format, i.status, _moment(i.created_at),
             _moment(i.committed_at), i.items_created]
            for i in imports
        ),
    )  # fmt: skip
    return found


def zip_bytes(user) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files(user).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def filename() -> str:
    return f"tcg-price-tracker-data-{timezone.localdate().isoformat()}.zip"
