"""The API's routes as the URL configuration declares them (what the schema and the walk check against)."""

from django.urls import URLPattern, URLResolver, get_resolver


def api_routes() -> dict[str, str]:
    """Route name → route (``api/v1/visits/<int:pk>/``) of every route under /api/v1/."""
    found = {}

    def walk(resolver, prefix):
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry, route)
            elif isinstance(entry, URLPattern) and route.startswith("api/v1/"):
                found[entry.name] = route

    walk(get_resolver(), "")
    return found
