import pytest


@pytest.fixture(autouse=True)
def case_files(settings, tmp_path):
    """Uploaded case documents go to a folder of the test's own."""
    settings.CASES_FILES_ROOT = tmp_path / "case-files"
    settings.LANGUAGE_CODE = "en"
    return settings.CASES_FILES_ROOT


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English unless a test asks for another language."""
    client.cookies["portal_language"] = "en"
    return client
