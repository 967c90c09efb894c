from django.http import Http404

# TEMPORARY scaffold: replaced by the real module.

def commit(request, *args, **kwargs):
    raise Http404("not built yet")


def discard(request, *args, **kwargs):
    raise Http404("not built yet")


def export_csv(request, *args, **kwargs):
    raise Http404("not built yet")


def preview(request, *args, **kwargs):
    raise Http404("not built yet")


def resolve_row(request, *args, **kwargs):
    raise Http404("not built yet")


def upload(request, *args, **kwargs):
    raise Http404("not built yet")

