import pytest


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    """Export files of a test go to its own temporary folder, never to var/."""
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT
