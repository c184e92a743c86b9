"""A Redis cache that degrades to "no cache" instead of failing the request.

Django's ``RedisCache`` raises on every Redis error, so a stopped or frozen Redis turned every page
that reads the cache into a 500. Here a Redis error is a miss (reads) or a no-op (writes), logged;
the page is computed from the database, slower but correct. After a failure Redis is left alone for
``RETRY_AFTER`` seconds, so a frozen server costs one socket timeout per process and period, not one
per cache call. Connect and read timeouts are short (``OPTIONS`` in settings).
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER = 10.0


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        params = dict(params)
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("retry_after", RETRY_AFTER))
        params["OPTIONS"] = options
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, operation, fallback, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except RedisError as exc:
            with self._lock:
                self._down_until = time.monotonic() + self.retry_after
            logger.warning(
                "Cache unavailable (%s: %s); serving without it for %.0f s",
                exc.__class__.__name__,
                exc,
                self.retry_after,
            )
            return fallback

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data), data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def clear(self):
        return self._call("clear", False)
