from .permissions import Action, can, roles


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_roles": sorted(r.label for r in roles(user)),
        "nav_can_setup": can(user, Action.SETUP),
        "nav_can_export": can(user, Action.EXPORT),
        "nav_can_import_labs": can(user, Action.IMPORT_LABS),
        "nav_can_review": can(user, Action.VERIFY) or can(user, Action.LOCK),  # SDV and locks
        "nav_can_view_audit": can(user, Action.VIEW_AUDIT),
        "nav_can_print_casebooks": can(user, Action.PRINT_CASEBOOK),
    }
