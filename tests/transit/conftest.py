import pytest

from transit.importer import import_gtfs

from .feeds import basic_feed


@pytest.fixture
def import_feed(tmp_path):
    """Import a FeedBuilder as feed `code` (a zip by default) and return the live version."""

    def run(builder, code="district", as_zip=True, **kwargs):
        if as_zip:
            location = builder.write_zip(tmp_path / f"{code}.zip")
        else:
            location = builder.write_folder(tmp_path / code)
        version, _report = import_gtfs(code, location, **kwargs)
        return version

    return run


@pytest.fixture
def district(db, import_feed):
    return import_feed(basic_feed())
