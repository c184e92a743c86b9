"""The test suite's cache: Django's Redis cache whose ``clear()`` deletes only its own keys.

Django's ``RedisCache.clear()`` empties the whole Redis database (FLUSHDB). The parallel test workers
share one database, each with its own key prefix (``EDC_REDIS_KEY_PREFIX``); a worker clearing its cache
must not empty the other's cache and Celery queues.
"""

import re

from redis.exceptions import RedisError

from edc.cache import ResilientRedisCache


def delete_keys(client, prefix: str) -> int:
    """Delete the keys of ``client``'s database that start with ``prefix``; return how many."""
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
    keys = list(client.scan_iter(match=pattern, count=1000))
    return client.delete(*keys) if keys else 0


class PrefixedRedisCache(ResilientRedisCache):
    """The production cache (Redis errors are misses), with a ``clear()`` that spares other workers."""

    def clear(self):
        try:
            delete_keys(self._cache.get_client(None, write=True), f"{self.key_prefix}:")
        except RedisError:
            return False  # like the production cache: Redis down is no cache, not an error
        return True
