from portal.mypage.panels import resident_value

from .services import unread_count


def request_unread_count(request, count=None):
    """The signed-in user's unread count, counted at most once per request and kept in the
    cache under the resident's My page generation: a message written or deleted (the inbox
    panel's `invalidated_by`), folded into a burst or marked read (services.py) drops it.
    `count()`: how to count it when it is not kept (the inbox panel counts with its list)."""
    if not hasattr(request, "_notifications_unread"):
        request._notifications_unread = resident_value(
            request, "unread", count or (lambda: unread_count(request.user))
        )
    return request._notifications_unread


def inbox(request):
    """`inbox_unread` for the header: the signed-in user's unread message count.

    The value is a callable, which templates call when they use it: a page whose templates
    never show the count runs no query. The count is kept on the request because every
    render_to_string(..., request=request) (each My page panel) runs the context processors
    again, and it must still be one query per request.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": lambda: request_unread_count(request)}
