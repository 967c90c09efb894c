"""Accounts: allauth's emails in our words, sign-up that answers a known email address as
it answers a new one, and superusers whose email needs no confirmation link.

allauth's own emails greet "Hello from <host>!" and name the account by its username, one
the site made up from the address and never shows; ours speak of the address and go
through the site's one email helper (templates/emails/account-*).

allauth already shows both the same page and mails both (a confirmation, or "you
already have an account"), but only a new address had its password hashed — by far the
costliest step — so a known one answered about 20 times faster, and the time alone told
which addresses have accounts. A known address now pays for the same hash.

A superuser is made by the operator (`createsuperuser`) or by another superuser in the
admin; neither goes through sign-up, so the address has no confirmation behind it, and
mandatory verification kept them off the login page. Their address counts as verified.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context as allauth_context
from django.contrib.auth.hashers import make_password

from tcgtracker.lib.emails import send_templated_email
from tcgtracker.lib.urls import site_root

# allauth's email (its template prefix) → ours (templates/emails/<name>-*). Others fall
# back to allauth's templates, whose greeting templates/account/email/ replaces.
EMAILS = {
    "account/email/email_confirmation_signup": "account-confirm-signup",
    "account/email/email_confirmation": "account-confirm-email",
    "account/email/password_reset_key": "account-password-reset",
    "account/email/account_already_exists": "account-already-exists",
    "account/email/unknown_account": "account-unknown",
}


def user_display(user) -> str:
    """How allauth names an account on pages and in messages: by its email address (the
    username is made up by the site and never shown)."""
    return user.email or user.get_username()


class AccountAdapter(DefaultAccountAdapter):
    def authenticate(self, request, **credentials):
        """A superuser made before their address counted as verified is verified when
        they next log in with the right password, before allauth asks for a link."""
        user = super().authenticate(request, **credentials)
        if user is not None:
            verify_superuser_email(type(user), user)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        name = EMAILS.get(template_prefix)
        if name is None:
            return super().send_mail(template_prefix, email, context)
        request = context.get("request") or allauth_context.request
        send_templated_email(
            name, [email], {**context, "email": email, "SITE_URL": site_root(request)}
        )


class SignupForm(AllauthSignupForm):
    def try_save(self, request):
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)


def verify_superuser_email(sender, instance, **kwargs):
    """post_save of the user model: a superuser's own email address counts as verified
    (see the module docstring), unless another account holds that address."""
    if not instance.is_superuser or not instance.email:
        return
    if kwargs.get("update_fields") == frozenset({"last_login"}):
        return  # every login saves this: nothing about the address has changed
    from allauth.account.models import EmailAddress

    email = instance.email.lower()  # as allauth stores and looks addresses up
    held = EmailAddress.objects.filter(email__iexact=email)
    if held.exclude(user=instance).exists():
        return
    existing = held.filter(user=instance).first()
    if existing is not None:
        if not existing.verified:
            existing.verified = True
            existing.save(update_fields=["verified"])
        return
    has_primary = EmailAddress.objects.filter(user=instance, primary=True).exists()
    EmailAddress.objects.create(user=instance, email=email, verified=True, primary=not has_primary)
