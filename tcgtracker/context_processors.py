"""What every page's layout (templates/base.html) needs: its addresses, reversed once
per process, and which nav item is the page being shown (tcgtracker.lib.layout)."""

from django.conf import settings

from tcgtracker.lib.layout import layout_urls, nav_current

__all__ = ["layout_urls", "nav_current", "site"]


def site(request):
    urls = layout_urls()
    return {
        "SITE_NAME": settings.SITE_NAME,
        "layout_urls": urls,
        "nav_current": nav_current(request, urls["alerts"]),
    }
