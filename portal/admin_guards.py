"""Tampered requests to Wagtail's admin get a 400 or a 404, not a 500 (issue 10 §6).

The fuzz test (tests/portal/test_fuzz_urls.py) found Wagtail 8 views that crash on requests its
own pages never send; the code is Wagtail's, so the guards sit here, in front of it:

- a `next` that is not a path on this site is dropped (Wagtail passes it to redirect(), which
  takes "foo" or "a:b" for a URL pattern name and raises);
- form data Wagtail reads without checking (a StreamField's `-count`, a rich-text field's
  JSON) raises MultiValueDictKeyError or JSONDecodeError: the request is malformed, a 400;
- moving the root page (it has no parent to reorder in) is a 404, and the external-link
  chooser posted without its `url` field a 400;
- a snippet chooser's "create" route for a model whose chooser has no creation form is a 404;
- a chooser's "chosen" routes with an id that is no key of the model ("1k" for an integer
  key: Wagtail routes any string there and the lookup raised ValueError) are a 404;
- deleting an object other rows still need (a clinic with slots: a PROTECT or RESTRICT foreign
  key Wagtail's reference index does not track) deletes nothing, as Django guarantees, and
  sends the staff member back with a message naming what still refers to it.
"""

import json
import logging
from collections import Counter

from django.contrib import messages
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpResponseRedirect
from django.utils.datastructures import MultiValueDictKeyError
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.defaults import bad_request

from .security import is_admin_path, local_path

logger = logging.getLogger(__name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _without_foreign_next(request, data):
    values = data.getlist("next")
    if values and not all(local_path(request, value) for value in values):
        data = data.copy()
        del data["next"]
    return data


def _page_has_parent(request, page_to_move_id, **kwargs):
    from wagtail.models import Page

    if Page.objects.filter(pk=page_to_move_id, depth__gt=1).exists():
        return None
    raise Http404


def _external_link_has_url(request, **kwargs):
    if request.method == "POST" and "external-link-chooser-url" not in request.POST:
        return bad_request(request, ValueError("no url posted"))
    return None


def _chooser_can_create(view_func):
    """Wagtail routes a "create" view for every snippet chooser, also for models whose chooser
    has no creation form; posting to it crashes on the missing form. Such a route is a 404."""
    view_class = getattr(view_func, "view_class", None)
    if view_class is None or not hasattr(view_class, "get_creation_form_class"):
        return True
    options = {**vars(view_class), **getattr(view_func, "view_initkwargs", {})}
    return any(
        options.get(name, getattr(view_class, name, None)) is not None
        for name in ("creation_form_class", "form_fields", "exclude_form_fields")
    )


def _still_referred_to(request, exception):
    """The delete was refused before anything changed; say why, on the page the staff member
    came from (or the delete page itself, which shows the object)."""
    blockers = getattr(exception, "protected_objects", None) or getattr(
        exception, "restricted_objects", ()
    )
    counts = Counter(capfirst(obj._meta.verbose_name_plural) for obj in blockers)
    what = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items()))
    messages.error(
        request,
        _(
            "This cannot be deleted while other records still refer to it (%(what)s). "
            "Remove or move those first."
        )
        % {"what": what},
    )
    back = local_path(request, request.META.get("HTTP_REFERER", ""))
    return HttpResponseRedirect(back or request.get_full_path())


def _chooser_model(view_func):
    from django.apps import apps

    view_class = getattr(view_func, "view_class", None)
    model = getattr(view_func, "view_initkwargs", {}).get("model") or getattr(
        view_class, "model", None
    )
    if isinstance(model, str):
        model = apps.get_model(model)
    return model


def _keys_of(model, values):
    """Whether every value is a possible primary key of `model` (as Wagtail quotes them)."""
    from django.contrib.admin.utils import unquote
    from django.core.exceptions import ValidationError

    field = model._meta.pk
    try:
        for value in values:
            field.get_prep_value(field.to_python(unquote(value)))
    except (ValueError, TypeError, ValidationError, OverflowError):
        return False
    return True


def _chosen_ids_are_keys(request, view_func, view_kwargs):
    model = _chooser_model(view_func)
    if model is None:
        return
    values = [view_kwargs["pk"]] if "pk" in view_kwargs else request.GET.getlist("id")
    if not _keys_of(model, values):
        raise Http404


GUARDS = {
    "set_page_position": _page_has_parent,
    "wagtailadmin_choose_page_external_link": _external_link_has_url,
}


class AdminRequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_admin_path(request.path_info):
            request.GET = _without_foreign_next(request, request.GET)
            if request.method == "POST" and request.content_type in FORM_TYPES:
                request.POST = _without_foreign_next(request, request.POST)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if not match or not is_admin_path(request.path_info):
            return None
        if match.url_name == "create" and not _chooser_can_create(view_func):
            raise Http404
        if match.url_name in ("chosen", "chosen_multiple"):
            _chosen_ids_are_keys(request, view_func, view_kwargs)
        guard = GUARDS.get(match.url_name)
        return guard(request, **view_kwargs) if guard else None

    def process_exception(self, request, exception):
        if is_admin_path(request.path_info) and isinstance(
            exception, ProtectedError | RestrictedError
        ):
            return _still_referred_to(request, exception)
        if is_admin_path(request.path_info) and isinstance(
            exception, MultiValueDictKeyError | json.JSONDecodeError
        ):
            logger.warning("Malformed admin request to %s: %r", request.path_info, exception)
            return bad_request(request, exception)
        return None
