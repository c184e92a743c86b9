from .models import ApiToken


def tokens_of(user):
    """The user's own tokens, newest first: nobody else's are ever listed or revocable."""
    return ApiToken.objects.filter(user=user)
