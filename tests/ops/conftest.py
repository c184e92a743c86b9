"""Stand-ins for a Redis that is stopped (nothing listens) or frozen (accepts, never answers)."""

import socket

import pytest


@pytest.fixture
def stopped_redis_url():
    """A port nobody listens on: connections are refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def frozen_redis_url():
    """A socket that accepts connections (the kernel's backlog) and never answers, like a SIGSTOPped
    server: every read blocks until the client's timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"
    sock.close()
