"""Middleware of the site as a whole."""

from django.shortcuts import render

from tcgtracker.lib.text import has_control_characters


class ControlCharactersMiddleware:
    """A control character in the path or a query parameter is a 400 naming where it was,
    before any view reads it: no page uses one, and PostgreSQL cannot even compare a NUL.
    The JSON API answers the same 400 in its own error format (api.params)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "checks_control_characters", False):
            return None
        if has_control_characters(request.path_info):
            return bad_request(request, "The address")
        for name, values in request.GET.lists():
            if has_control_characters(name):
                return bad_request(request, "A parameter name")
            if any(map(has_control_characters, values)):
                return bad_request(request, f"The parameter “{name[:40]}”")
        return None


def bad_request(request, where: str):
    message = (
        f"{where} contains a control character (such as a NUL byte or a line break). "
        "No page here uses them: remove it and try again."
    )
    return render(request, "400.html", {"message": message}, status=400)
