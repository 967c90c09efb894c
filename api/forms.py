from django import forms

from api.keys import key_limit_error
from api.models import ApiKey


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]
        labels = {"name": "Name"}
        help_texts = {"name": "What the key is for, so you can tell your keys apart."}
        error_messages = {"name": {"required": "Name: give the key a name."}}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["name"].widget.attrs.update(
            {"placeholder": "e.g. price spreadsheet", "autocomplete": "off"}
        )

    def clean(self):
        cleaned = super().clean()
        error = key_limit_error(self.user)
        if error:
            raise forms.ValidationError(error)
        return cleaned

    def save(self, commit=True):
        """Issue the key; returns (key, secret) — the secret exists only in this answer."""
        return ApiKey.issue(self.user, self.cleaned_data["name"])
