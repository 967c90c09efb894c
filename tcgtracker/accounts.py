"""Sign-up that answers a known email address as it answers a new one.

allauth already shows both the same page and mails both (a confirmation, or "you
already have an account"), but only a new address had its password hashed — by far the
costliest step — so a known one answered about 20 times faster, and the time alone told
which addresses have accounts. A known address now pays for the same hash.
"""

from allauth.account.forms import SignupForm as AllauthSignupForm
from django.contrib.auth.hashers import make_password


class SignupForm(AllauthSignupForm):
    def try_save(self, request):
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)
