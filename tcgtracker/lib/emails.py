"""Every email the site sends goes through send_templated_email().

An email named "alert" is three templates: templates/emails/alert-subject.txt,
alert-body.txt and alert-body.html. Both bodies go out in one multipart/alternative
message, so every client shows a readable version.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render_templated_email(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of the email `name` with this context."""
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **context}
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    # A header cannot span lines: a newline in a subject is an injection attempt to Django.
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


def send_templated_email(
    name: str,
    to: list[str] | str,
    context: dict,
    *,
    headers: dict | None = None,
    connection=None,
) -> None:
    """Render and send; delivery errors (smtplib.SMTPException, OSError) propagate so the
    caller can record them and retry."""
    subject, text, html = render_templated_email(name, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to] if isinstance(to, str) else list(to),
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
