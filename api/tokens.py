"""The token format and its digest: ``edc_<prefix>_<secret>``, stored as a prefix and a SHA-256."""

import hashlib
import hmac
import secrets

PREFIX_BYTES = 5  # 10 hex characters: the lookup key, shown in the token list
SECRET_BYTES = 32  # 256 random bits


def new_token() -> tuple[str, str]:
    """(the raw token to show once, its prefix)."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    return f"edc_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}", prefix


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def parse(raw: str) -> str | None:
    """The prefix of a well-formed token, else None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "edc" or len(parts[1]) != 2 * PREFIX_BYTES or not parts[2]:
        return None
    return parts[1]


def matches(raw: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(raw), stored_digest)
