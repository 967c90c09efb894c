import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.keys import find_key
from api.models import ApiKey
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def fields(instance) -> dict:
    return {key: value for key, value in vars(instance).items() if key != "_state"}


def test_a_key_is_found_by_its_secret_with_its_user_as_the_orm_reads_them():
    user = make_user(first_name="Ada")
    key, secret = ApiKey.issue(user, "Spreadsheet")
    make_user()  # someone else, with a key of their own
    ApiKey.issue(make_user(), "Other")

    with CaptureQueriesContext(connection) as queries:
        found = find_key(secret)
        assert found.user.first_name == "Ada"  # read with the key

    assert len(queries) == 1
    expected = ApiKey.objects.select_related("user").get(pk=key.pk)
    assert fields(found) == fields(expected)
    assert fields(found.user) == fields(expected.user)
    assert found.pk == key.pk and not found._state.adding


def test_a_revoked_key_is_found_and_says_so():
    key, secret = ApiKey.issue(make_user(), "Old")
    key.revoke()
    assert find_key(secret).is_active is False


@pytest.mark.parametrize("token", ["", "nope", "x" * 500])
def test_a_token_that_is_no_key_finds_nothing(token):
    ApiKey.issue(make_user(), "Mine")
    assert find_key(token) is None


def test_an_unknown_secret_finds_nothing():
    _, secret = ApiKey.issue(make_user(), "Mine")
    assert find_key(secret[:-4] + "abcd") is None
