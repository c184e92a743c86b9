from .permissions import Action, can, roles


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_roles": sorted(r.label for r in roles(user)),
        "nav_can_setup": can(user, Action.SETUP),
    }
