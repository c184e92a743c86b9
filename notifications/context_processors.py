from . import selectors


def unread_notifications(request):
    """The navbar badge: one COUNT on the partial index of unread notifications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_unread_notifications": selectors.unread_count(user)}
