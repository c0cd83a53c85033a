"""Saving a back-office list's current filter under a name, per operator."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponseRedirect
from django.views.decorators.http import require_POST

from compliance.models import SavedFilter


@staff_member_required
@require_POST
def saved_filter_create(request: HttpRequest) -> HttpResponseRedirect:
    path = urlsplit(request.POST.get("path", "")).path
    query = request.POST.get("query", "")[:2000]
    name = request.POST.get("name", "").strip()[:80]
    if not path.startswith("/admin/") or not name:
        messages.error(request, "Give the filter a name.")
        return HttpResponseRedirect(path if path.startswith("/admin/") else "/admin/")
    try:
        SavedFilter.objects.create(user=request.user, name=name, path=path, query=query)
        messages.success(request, f"Saved the filter “{name}”.")
    except IntegrityError:
        messages.error(request, f"You already have a filter named “{name}” here.")
    return HttpResponseRedirect(f"{path}?{query}" if query else path)
