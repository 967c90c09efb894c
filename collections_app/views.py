from django.http import Http404

# TEMPORARY scaffold: replaced by the real module.

def add_card(request, *args, **kwargs):
    raise Http404("not built yet")


def add_item(request, *args, **kwargs):
    raise Http404("not built yet")


def chart(request, *args, **kwargs):
    raise Http404("not built yet")


def collection_list(request, *args, **kwargs):
    raise Http404("not built yet")


def create(request, *args, **kwargs):
    raise Http404("not built yet")


def delete(request, *args, **kwargs):
    raise Http404("not built yet")


def delete_item(request, *args, **kwargs):
    raise Http404("not built yet")


def detail(request, *args, **kwargs):
    raise Http404("not built yet")


def edit(request, *args, **kwargs):
    raise Http404("not built yet")


def edit_item(request, *args, **kwargs):
    raise Http404("not built yet")


def item_detail(request, *args, **kwargs):
    raise Http404("not built yet")


def share(request, *args, **kwargs):
    raise Http404("not built yet")


def shared(request, *args, **kwargs):
    raise Http404("not built yet")


def toggle_watch(request, *args, **kwargs):
    raise Http404("not built yet")


def watchlist(request, *args, **kwargs):
    raise Http404("not built yet")

