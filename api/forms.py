from django import forms

from api.keys import key_limit_error
from api.models import ApiKey


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "scope"]
        labels = {"name": "Name", "scope": "Access"}
        help_texts = {
            "name": "What the key is for, so you can tell your keys apart.",
            "scope": "Read and write also lets the key create, change and delete your "
            "alerts, collections, items and watchlist.",
        }
        widgets = {"scope": forms.RadioSelect}
        error_messages = {"name": {"required": "Name: give the key a name."}}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["name"].widget.attrs.update(
            {"placeholder": "e.g. price spreadsheet", "autocomplete": "off"}
        )
        # Read only unless write access is asked for (a form posted without the field
        # too, such as a script of the old page's).
        self.fields["scope"].required = False
        self.fields["scope"].initial = ApiKey.Scope.READ

    def clean_scope(self):
        return self.cleaned_data.get("scope") or ApiKey.Scope.READ

    def clean(self):
        cleaned = super().clean()
        error = key_limit_error(self.user)
        if error:
            raise forms.ValidationError(error)
        return cleaned

    def save(self, commit=True):
        """Issue the key; returns (key, secret) — the secret exists only in this answer."""
        return ApiKey.issue(self.user, self.cleaned_data["name"], self.cleaned_data["scope"])
