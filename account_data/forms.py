from allauth.core import ratelimit
from django import forms


class DeleteAccountForm(forms.Form):
    """Deleting asks for the password again: a session left open on a shared computer
    must not be enough. Wrong guesses count against allauth's reauthentication limit."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Password: enter your password to delete the account."},
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = request.user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not ratelimit.consume(self.request, action="reauthenticate", user=self.user):
            raise forms.ValidationError("Password: too many attempts. Wait a minute and try again.")
        if not self.user.check_password(password):
            raise forms.ValidationError("Password: that is not your password.")
        return password
