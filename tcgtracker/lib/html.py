"""format_html() and format_html_join() as django.utils.html writes them — the same
characters — for the fragments the card page writes in Python.

Django's conditional_escape() goes through escape()'s lazy-string wrapper (keep_lazy),
which checks every argument for a lazy string before escaping it; on a page writing a
few hundred escaped values, the wrapper cost more than the escaping. Here each value is
escaped as conditional_escape() escapes it — a lazy string made text first, an object
with __html__ (SafeString, a form's field) taken as it says, anything else written with
str() and escaped by html.escape, as django.utils.html.escape does.
"""

import html

from django.utils.functional import Promise
from django.utils.safestring import SafeString


def escaped(value) -> str:
    """conditional_escape(value), as text. Plain text, markup already made safe and whole
    numbers (most of a page's values) are told by their exact type first."""
    kind = type(value)
    if kind is str:
        return html.escape(value)
    if kind is SafeString:
        return value
    if kind is int:
        return str(value)  # digits and a minus sign: nothing to escape
    if isinstance(value, Promise):
        value = str(value)
    as_html = getattr(value, "__html__", None)
    if as_html is not None:
        return as_html()
    return html.escape(str(value))


def format_html(format_string: str, *args, **kwargs) -> SafeString:
    """django.utils.html.format_html()."""
    if not (args or kwargs):
        raise TypeError("args or kwargs must be provided.")
    return SafeString(
        format_string.format(
            *map(escaped, args), **{name: escaped(value) for name, value in kwargs.items()}
        )
    )


def format_html_join(sep, format_string: str, args_generator) -> SafeString:
    """django.utils.html.format_html_join()."""
    return SafeString(
        escaped(sep).join([format_string.format(*map(escaped, args)) for args in args_generator])
    )
