"""Every catalogue compiles and has no untranslated or fuzzy entries."""

import subprocess
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[1] / "locale"


@pytest.mark.parametrize("language", ["zh_Hant", "zh_Hans", "en"])
def test_catalogue_is_complete(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr


def test_chinese_catalogues_use_one_plural_form():
    for language in ("zh_Hant", "zh_Hans"):
        text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
        assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in text
        assert "msgstr[1]" not in text
