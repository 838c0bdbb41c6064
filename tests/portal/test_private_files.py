"""Case documents and card photos share one private storage (portal/private_files.py): kept
under their own root, outside MEDIA_ROOT, with no URL anyone could guess or share."""

from pathlib import Path

from django.core.files.base import ContentFile

import pytest

from portal.cards.models import photo_storage
from portal.cases.models import case_files_storage


@pytest.mark.parametrize(
    ("storage", "setting"),
    [(case_files_storage, "CASES_FILES_ROOT"), (photo_storage, "CARDS_FILES_ROOT")],
)
def test_private_files_live_under_their_own_root_and_have_no_url(
    storage, setting, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    setattr(settings, setting, tmp_path / "private")
    name = storage.save("a/document.pdf", ContentFile(b"%PDF-1.4 private"))
    assert (tmp_path / "private" / name).read_bytes() == b"%PDF-1.4 private"
    assert not Path(settings.MEDIA_ROOT).exists()
    with pytest.raises(ValueError, match="no public URL"):
        storage.url(name)
