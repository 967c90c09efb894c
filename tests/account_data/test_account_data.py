"""Your data: the export zip and deleting the account, for the owner only."""

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertEvent, Channel, Delivery, EmailPreferences
from api.models import ApiKey
from collections_app.importing import decode_upload, detect_format
from collections_app.models import CollectionImport, PortfolioSnapshot, Watch
from tests.factories import make_card, make_collection, make_item, make_user, record_prices

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PAGE = reverse("account_data:page")
EXPORT = reverse("account_data:export")
DELETE = reverse("account_data:delete")


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def owner():
    user = make_user(email="ash.ketchum@example.com", first_name="Ash", last_name="Ketchum")
    user.username = "ashketchum"
    user.save()
    return user


@pytest.fixture
def everything(owner):
    """One of every personal row an account can have."""
    card = make_card(name="Charizard", number="4")
    record_prices(card, {"ungraded": 35000})
    collection = make_collection(owner, name="=Binder")  # a formula, to be escaped
    collection.start_sharing()
    make_item(collection, card, purchase_price=20000, notes="from Ash's uncle")
    PortfolioSnapshot.objects.create(
        collection=collection, day=dt.date(2025, 1, 1), value=35000, cost=20000
    )
    CollectionImport.objects.create(
        collection=collection, filename="ash.csv", content="x", status="committed"
    )
    Watch.objects.create(user=owner, card=card)
    alert = Alert.objects.create(user=owner, card=card, kind=Alert.Kind.BELOW, threshold=30000)
    event = AlertEvent.objects.create(
        alert=alert, source="pricecharting", price=29000, observed_at=timezone.now()
    )
    channel = Channel.objects.create(
        user=owner,
        kind=Channel.Kind.JSON,
        name="Ash's bot",
        url="https://bots.example/hook/ash-secret-path-1234",
        signing_secret="ash-signing-secret",
    )
    alert.channels.add(channel)
    Delivery.objects.create(event=event, channel=channel, status=Delivery.Status.SENT, attempts=1)
    EmailPreferences.for_user(owner)
    key, secret = ApiKey.issue(owner, "Ash's sheet", ApiKey.Scope.WRITE)
    LogEntry.objects.log_actions(
        user_id=make_user(is_staff=True).pk, queryset=[owner], action_flag=ADDITION
    )
    return {
        "card": card,
        "collection": collection,
        "alert": alert,
        "key": key,
        "secret": secret,
        "channel": channel,
    }


# --- Permissions ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(everything, owner):
    for response in [Client().get(PAGE), Client().post(EXPORT), Client().post(DELETE)]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    assert type(owner).objects.filter(pk=owner.pk).exists()


def test_another_user_gets_only_their_own_data(everything, owner):
    other = make_user()
    exported = client_for(other).post(EXPORT)
    assert exported.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    text = " ".join(archive.read(name).decode() for name in archive.namelist())
    assert "ash.ketchum" not in text and "Binder" not in text

    # Their password deletes their account, never the owner's.
    client_for(other).post(DELETE, {"password": PASSWORD})
    assert type(owner).objects.filter(pk=owner.pk).exists()
    assert not type(owner).objects.filter(pk=other.pk).exists()


def test_the_owner_sees_the_page_from_the_account_menu(owner):
    response = client_for(owner).get(PAGE)
    assert response.status_code == 200
    assert b"Download my data" in response.content
    assert PAGE.encode() in client_for(owner).get(reverse("api_keys:list")).content


def test_export_and_delete_need_the_csrf_token(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(EXPORT).status_code == 403
    assert client.post(DELETE, {"password": PASSWORD}).status_code == 403
    assert type(owner).objects.filter(pk=owner.pk).exists()


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_export_and_delete_are_posts_only(owner, method):
    client = client_for(owner)
    for url in (EXPORT, DELETE):
        assert getattr(client, method)(url).status_code == 405


# --- Export -------------------------------------------------------------------------------------


def test_the_export_is_one_zip_of_everything_without_key_hashes(owner, everything):
    response = client_for(owner).post(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    collection = everything["collection"]
    assert set(archive.namelist()) == {
        "README.txt",
        "profile.json",
        "collections.csv",
        f"collections/{collection.pk}.csv",
        "portfolio_snapshots.csv",
        "watchlist.csv",
        "alerts.csv",
        "alert_history.csv",
        "alert_channels.csv",
        "alert_deliveries.csv",
        "api_keys.csv",
        "collection_imports.csv",
    }
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "ash.ketchum@example.com"
    assert profile["email_addresses"] == [
        {"email": "ash.ketchum@example.com", "primary": True, "verified": True}
    ]

    def rows(name):
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))

    assert rows("collections.csv")[0]["name"] == "'=Binder"
    assert rows(f"collections/{collection.pk}.csv")[0]["notes"] == "from Ash's uncle"
    assert rows("portfolio_snapshots.csv")[0]["value"] == "350.00"
    assert rows("watchlist.csv")[0]["card_name"] == "Charizard"
    assert rows("alerts.csv")[0]["threshold"] == "300.00"
    assert rows("alert_history.csv")[0]["price"] == "290.00"
    channel = everything["channel"]
    assert rows("alerts.csv")[0]["channel_ids"] == str(channel.pk)
    [exported_channel] = rows("alert_channels.csv")
    assert exported_channel["name"] == "Ash's bot"
    assert exported_channel["destination"] == "https://bots.example/…1234"
    assert rows("alert_deliveries.csv")[0]["status"] == "sent"
    assert rows("collection_imports.csv")[0]["filename"] == "ash.csv"
    key = everything["key"]
    assert rows("api_keys.csv") == [
        {
            "name": "Ash's sheet",
            "starts_with": key.prefix,
            "access": "write",
            "created_at": key.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "last_used_at": "",
            "revoked_at": "",
        }
    ]
    everything_exported = b"".join(archive.read(name) for name in archive.namelist())
    assert key.hash.encode() not in everything_exported
    assert everything["secret"].encode() not in everything_exported
    for secret in ("ash-secret-path", "ash-signing-secret"):
        assert secret.encode() not in everything_exported


def test_an_exported_collections_items_are_in_the_importers_own_format(owner, everything):
    archive = zipfile.ZipFile(io.BytesIO(client_for(owner).post(EXPORT).content))
    items = archive.read(f"collections/{everything['collection'].pk}.csv")

    text, _ = decode_upload(items)
    file_format, _ = detect_format(text)

    assert file_format.key == CollectionImport.Format.OWN


# --- Delete -------------------------------------------------------------------------------------


def _rows_about(user, email: str, names: list[str]) -> list[str]:
    """Every row of every model (Django's, allauth's, django-q's and ours) that points at
    the user or holds their email address or a name of theirs."""
    found = []
    needles = [email.lower(), *(name.lower() for name in names if name)]
    user_type = ContentType.objects.get_for_model(type(user))
    for model in apps.get_models(include_auto_created=True):
        fields = list(model._meta.concrete_fields)
        for row in model._default_manager.all():
            label = f"{model._meta.label} #{row.pk}"
            if model is Session:
                if row.get_decoded().get("_auth_user_id") == str(user.pk):
                    found.append(f"{label}: a session of the user")
                continue
            for field in fields:
                value = getattr(row, field.attname)
                remote = field.remote_field.model if field.is_relation else None
                points_at_users = isinstance(remote, type) and issubclass(remote, AbstractBaseUser)
                if points_at_users and value == user.pk:
                    found.append(f"{label}.{field.name} points at the user")
                if isinstance(value, str | bytes | dict | list | tuple) or isinstance(
                    field, models.JSONField
                ):
                    text = str(value).lower()
                    found.extend(
                        f"{label}.{field.name} holds {needle!r}"
                        for needle in needles
                        if needle in text
                    )
            content_type_id = getattr(row, "content_type_id", None)
            object_id = getattr(row, "object_id", None)
            if content_type_id == user_type.pk and str(object_id) == str(user.pk):
                found.append(f"{label} is about the user")
    return found


def test_deleting_the_account_leaves_nothing_personal_in_any_table(owner, everything):
    email, names = owner.email, [owner.first_name, owner.last_name, owner.username]
    client = client_for(owner)
    client.post(EXPORT)  # a session with the user's id in it, and another one elsewhere
    client_for(owner)
    assert _rows_about(owner, email, names), "the check must see the rows before"

    response = client.post(DELETE, {"password": PASSWORD})

    assert response.status_code == 302
    assert _rows_about(owner, email, names) == []


def test_deleting_revokes_the_api_keys_and_the_share_links(owner, everything):
    share_url = everything["collection"].get_share_url()
    assert Client().get(share_url).status_code == 200

    client_for(owner).post(DELETE, {"password": PASSWORD})

    api = Client(headers={"X-API-Key": everything["secret"]})
    assert api.get("/api/v1/alerts").json()["error"]["code"] == "API_KEY_INVALID"
    assert Client().get(share_url).status_code == 404


def test_deleting_emails_a_confirmation_to_the_address_it_had(
    owner, everything, django_capture_on_commit_callbacks
):
    client = client_for(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELETE, {"password": PASSWORD}, follow=True)

    assert [message.to for message in mail.outbox] == [["ash.ketchum@example.com"]]
    assert "deleted" in mail.outbox[0].subject
    assert b"have been deleted" in response.content
    assert response.context["user"].is_anonymous


@pytest.mark.parametrize(
    "password", ["", "wrong", "correct horse battery stapl", "\x00", "²" * 5000]
)
def test_a_wrong_password_deletes_nothing(owner, everything, password):
    response = client_for(owner).post(DELETE, {"password": password})
    assert response.status_code == 422
    assert b"password" in response.content.lower()
    assert type(owner).objects.filter(pk=owner.pk).exists()
    assert Alert.objects.filter(user=owner).exists()
    assert not mail.outbox


def test_password_guesses_are_limited(owner, settings):
    settings.ACCOUNT_RATE_LIMITS = {"reauthenticate": "10/m/user"}  # off in tests otherwise
    client = client_for(owner)
    for _ in range(10):
        client.post(DELETE, {"password": "wrong"})
    response = client.post(DELETE, {"password": PASSWORD})
    assert response.status_code == 422
    assert b"too many attempts" in response.content
    assert type(owner).objects.filter(pk=owner.pk).exists()
