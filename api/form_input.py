"""JSON values through the web forms: the API's writes get the pages' rules and messages
from the same form classes (alerts.forms, collections_app.forms), never a copy of them.

A form reads what a browser posts — strings — so each value goes in as the browser would
send it: null as blank, numbers and booleans as text. A change (PATCH) starts from what
the form shows for the object today and replaces the fields the client sent.
"""

from django import forms

from api.http import ApiError


def as_posted(value) -> str | list[str]:
    if value is None:
        return ""
    if isinstance(value, list | tuple):  # a multiple choice posts one value per choice
        return [as_posted(item) for item in value]
    if isinstance(value, bool):
        return "on" if value else ""
    return str(value)


def current_values(form: forms.BaseForm) -> dict[str, str | list[str]]:
    """What an unbound form shows for its instance, as a browser would post it back."""
    return {bound.html_name: as_posted(bound.value()) for bound in form}


def form_data(values: dict, current: dict | None = None) -> dict:
    data = dict(current or {})
    data.update({name: as_posted(value) for name, value in values.items()})
    return data


def invalid(form: forms.BaseForm) -> ApiError:
    """The form's errors as a 422: each field's messages under its name, the form's own
    under "__all__" — the messages the page shows, word for word."""
    fields = {name: [str(message) for message in errors] for name, errors in form.errors.items()}
    return invalid_fields(fields)


def invalid_fields(fields: dict[str, list[str]]) -> ApiError:
    message = " ".join(message for messages in fields.values() for message in messages)
    return ApiError(422, "VALIDATION_ERROR", message, {"fields": fields})
