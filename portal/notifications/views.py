from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST, require_safe

from . import services
from .context_processors import request_unread_count
from .models import Message

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
