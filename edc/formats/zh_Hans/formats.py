"""The same ISO 8601 formats in Simplified Chinese (``edc.formats.en``)."""

from edc.formats.en.formats import *  # noqa: F403
