"""The card page's price alert panel, written with format_html rather than in the
template: two conditions and half a dozen variables in the template engine cost more than
the panel's few lines of Python. Each value is escaped as the template escaped it."""

from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

from tcgtracker.lib.html import format_html

ALERT_HEADING = (
    '<section id="alert-panel" class="panel alert-panel" aria-labelledby="alert-heading">\n'
    '  <div class="panel-heading">\n'
    '    <h2 id="alert-heading">Price alert</h2>\n'
)


def alert_panel(
    card_id: int, signed_in: bool, create_alert_url: str, alerts_url: str, login_url: str, path
) -> SafeString:
    """A member's Create alert button (opening the form in place with htmx), or a
    visitor's link to log in and come back to `path` (the page's address as asked)."""
    if not signed_in:
        return format_html(
            "{}  </div>\n"
            '  <p><a href="{}?next={}">Log in to set an alert</a> on this card\'s price.</p>\n'
            "</section>",
            mark_safe(ALERT_HEADING),
            login_url,
            quote(path),
        )
    create_url = f"{create_alert_url}?card={int(card_id)}&from=card"
    return format_html(
        '{}    <a class="panel-aside" href="{}">My alerts</a>\n'
        "  </div>\n"
        '  <div id="alert-form-slot">\n'
        '    <p class="help">Get an email when this card\'s price falls to or rises to your '
        "line, or moves by a percentage.</p>\n"
        '    <a class="btn btn-primary" href="{}"\n'
        '       hx-get="{}" hx-target="#alert-form-slot">Create alert</a>\n'
        "  </div>\n"
        "</section>",
        mark_safe(ALERT_HEADING),
        alerts_url,
        create_url,
        create_url,
    )
