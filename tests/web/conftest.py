"""The pages' tests use the laboratory set-up: a Baseline visit with the default reference ranges."""

from tests.labs.conftest import baseline, ranges  # noqa: F401 - fixtures
