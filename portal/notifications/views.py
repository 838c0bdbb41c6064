from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import services
from .channels import CHANNELS
from .context_processors import request_unread_count
from .forms import KindPreferencesForm, channel_label
from .kinds import INBOX
from .models import Message
from .recipients import recipient_profile

PAGE_SIZE = 20


@login_required
@require_safe
def inbox(request):
    paginator = Paginator(services.inbox_messages(request.user), PAGE_SIZE)
    # get_page turns a missing, malformed or too-large page number into a valid page.
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, "unread": request_unread_count(request)}
    return render(request, "notifications/inbox.html", context)


@login_required
@require_safe
def detail(request, pk):
    try:
        # Filtering by owner makes another resident's message indistinguishable from none.
        message = services.inbox_messages(request.user).get(pk=pk)
    except Message.DoesNotExist:
        raise Http404 from None
    services.mark_read(message)
    return render(request, "notifications/detail.html", {"message": message})


@login_required
@require_POST
def mark_all_read(request):
    changed = services.mark_all_read(request.user)
    if changed:
        messages.success(
            request,
            ngettext(
                "%(count)d message marked as read.", "%(count)d messages marked as read.", changed
            )
            % {"count": changed},
        )
    return redirect("notifications:inbox")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    """Which messages the resident gets, and where: per kind, for the kinds they may turn off."""
    choices = services.kind_choices(request.user)
    form = KindPreferencesForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        services.save_kind_choices(request.user, form.kind_choices())
        messages.success(request, gettext("Your choices have been saved."))
        return redirect("notifications:preferences")
    profile = recipient_profile(request.user)
    always = [
        (kind, [channel_label(c) for c in (INBOX, *kind.external_channels) if c in chosen])
        for kind, chosen in choices
        if not kind.optional
    ]
    context = {
        "form": form,
        "always": always,
        "email_on": CHANNELS["email"].wanted(profile) and bool(request.user.email),
        "sms_on": CHANNELS["sms"].wanted(profile) and bool(profile.phone),
    }
    return render(request, "notifications/preferences.html", context)
