import pytest


@pytest.fixture(autouse=True)
def card_files(settings, tmp_path):
    """Card photos go to a folder of the test's own."""
    settings.CARDS_FILES_ROOT = tmp_path / "card-files"
    settings.LANGUAGE_CODE = "en"
    return settings.CARDS_FILES_ROOT


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English unless a test asks for another language."""
    client.cookies["portal_language"] = "en"
    return client
