"""A set page's form choosing the cards' order and view, and its links to the other pages,
written in Python (templates/pages/set_detail.html shows them).

Through the template language the two took a tenth of the page's rendering: a tag per
option, a loop over the views, a dozen lookups of the page's numbers. Every value from the
request or the catalog is escaped here, as the template's autoescaping did.
"""

from html import escape

from django.core.paginator import Page
from django.utils.safestring import SafeString, mark_safe


def controls(action: str, sorts: list[tuple], sort: str, views: list[tuple], view: str):
    """The <form> of the sort menu (`sorts` as (value, label), `sort` selected) and the
    view radio buttons (`view` checked), sent to `action`."""
    options = "".join(
        f'<option value="{escape(value)}"{" selected" if value == sort else ""}>'
        f"{escape(label)}</option>"
        for value, label in sorts
    )
    radios = "\n".join(
        f'<label><input type="radio" name="view" value="{escape(value)}"'
        f"{' checked' if value == view else ''}> {escape(label)}</label>"
        for value, label in views
    )
    return mark_safe(
        f'<form class="list-controls" method="get" action="{escape(action)}">\n'
        f'<label>Sort\n<select name="sort">{options}</select>\n</label>\n'
        f'<fieldset class="view-choice">\n<legend>Show</legend>\n{radios}\n</fieldset>\n'
        '<button type="submit" class="btn">Apply</button>\n'
        "</form>"
    )


def pagination(page: Page, page_query: str) -> SafeString:
    """The links to the previous and next pages (keeping `page_query`, the page's other
    choices) around which cards this page shows; nothing when there is one page."""
    if not page.has_other_pages():
        return mark_safe("")
    query = f"{escape(page_query)}&amp;" if page_query else ""
    previous = next_ = ""
    if page.has_previous():
        previous = f'<a href="?{query}page={page.previous_page_number()}" rel="prev">← Previous</a>'
    if page.has_next():
        next_ = f'<a href="?{query}page={page.next_page_number()}" rel="next">Next →</a>'
    return mark_safe(
        '<nav class="pagination" aria-label="Pages of this set">\n'
        f"{previous}\n"
        f"<span>Cards {page.start_index()}–{page.end_index()} of {page.paginator.count}</span>\n"
        f"{next_}\n"
        "</nav>"
    )
