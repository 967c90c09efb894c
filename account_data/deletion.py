"""Deleting an account and everything personal that hangs on it.

What goes is found the way Django's own deletion finds it — every row that cascades from
the user (collections and their items, snapshots and imports; alerts and their history;
the watchlist; email addresses; email preferences; API keys, and so every key stops
working; share links, which live on the collections) — so a model added later that
points at the user is covered without a change here. What Django's cascade does not
reach is removed as well: the admin's log entries about any of those rows (they hold
their names), and the user's sessions, whose data holds the user's id. The test suite
walks every model afterwards to prove nothing personal remains.

The confirmation goes to the address the account had, once the deletion is committed,
from this process: a queued task would keep the address in the task table.
"""

import logging
import smtplib

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.deletion import Collector

from tcgtracker.lib.emails import send_templated_email

logger = logging.getLogger(__name__)

DATABASE_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
    "tcgtracker.sessions",
)


def delete_account(user) -> None:
    address = user.email
    with transaction.atomic():
        # One deletion at a time for this account; a second one finds nothing to delete.
        locked = get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if locked is None:
            return
        _delete_admin_log_entries(locked)
        _delete_sessions(locked)
        locked.delete()
        if address:
            transaction.on_commit(lambda: _confirm(address))


def _delete_admin_log_entries(user) -> None:
    collector = Collector(using=DEFAULT_DB_ALIAS)
    collector.collect([user])
    for model, rows in collector.data.items():
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        ids = [str(row.pk) for row in rows]
        LogEntry.objects.filter(content_type=content_type, object_id__in=ids).delete()


def _delete_sessions(user) -> None:
    """Sessions keep the user's id inside their encoded data, so each live one is read:
    an install has few, and this runs once per deleted account."""
    if settings.SESSION_ENGINE not in DATABASE_SESSION_ENGINES:
        return
    user_id = str(user.pk)
    doomed = [
        session.pk
        for session in Session.objects.iterator(chunk_size=500)
        if session.get_decoded().get("_auth_user_id") == user_id
    ]
    Session.objects.filter(pk__in=doomed).delete()


def _confirm(address: str) -> None:
    try:
        send_templated_email("account-deleted", address, {})
    except (smtplib.SMTPException, OSError):
        # The account is gone either way; say so in the log without the address.
        logger.warning("The account deletion email could not be sent.", exc_info=True)
