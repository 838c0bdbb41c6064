"""Where a GTFS feed comes from: a zip file, a folder, or a URL (downloaded to a temporary zip).

A source hands out each member file as a binary stream, so the importer reads one row at a
time and never holds a file in memory.
"""

import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

DOWNLOAD_TIMEOUT = (10, 120)  # connect, read (seconds)


class SourceError(Exception):
    """The feed could not be opened at all (missing path, not a zip, download failed)."""


class FolderSource:
    def __init__(self, path):
        self.path = Path(path)
        self.label = str(path)

    def names(self):
        return {p.name for p in self.path.iterdir() if p.is_file()}

    def size(self, name):
        return (self.path / name).stat().st_size

    def open(self, name):
        return open(self.path / name, "rb")

    def close(self):
        pass


class ZipSource:
    def __init__(self, path, label=None):
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise SourceError(f"{label or path}: not a readable zip file ({exc})") from exc
        self.label = label or str(path)
        # Some publishers zip a folder: accept members one folder down, by base name.
        self.members = {}
        for info in self.zip.infolist():
            if info.is_dir():
                continue
            base = info.filename.rsplit("/", 1)[-1]
            if base and (base not in self.members or "/" not in info.filename):
                self.members[base] = info

    def names(self):
        return set(self.members)

    def size(self, name):
        return self.members[name].file_size

    def open(self, name):
        return self.zip.open(self.members[name])

    def close(self):
        self.zip.close()


def _download(url, max_bytes):
    import requests

    tmp = tempfile.NamedTemporaryFile(prefix="gtfs-", suffix=".zip", delete=False)  # noqa: SIM115
    try:
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
            if response.status_code != 200:
                raise SourceError(f"{url}: HTTP {response.status_code}")
            written = 0
            for chunk in response.iter_content(1 << 20):
                written += len(chunk)
                if written > max_bytes:
                    raise SourceError(f"{url}: larger than {max_bytes} bytes")
                tmp.write(chunk)
        tmp.close()
        return tmp.name
    except requests.RequestException as exc:
        tmp.close()
        os.unlink(tmp.name)
        raise SourceError(f"{url}: download failed ({exc})") from exc
    except BaseException:
        tmp.close()
        os.unlink(tmp.name)
        raise


@contextmanager
def open_source(location, max_download_bytes=2 << 30):
    """Open a zip path, a folder path, or an http(s) URL as a feed source."""
    scheme = urlparse(str(location)).scheme
    if scheme in ("http", "https"):
        path = _download(str(location), max_download_bytes)
        source = None
        try:
            source = ZipSource(path, label=str(location))
            yield source
        finally:
            if source is not None:
                source.close()
            os.unlink(path)
        return
    if scheme == "file":
        location = urlparse(str(location)).path
    path = Path(location)
    if path.is_dir():
        yield FolderSource(path)
    elif path.is_file():
        source = ZipSource(path)
        try:
            yield source
        finally:
            source.close()
    else:
        raise SourceError(f"{location}: no such file or folder")


def copy_folder_to_zip(folder, target):
    """Zip a feed folder (used by the demo and the benchmarks to test the zip path)."""
    base = str(Path(target).with_suffix(""))
    return shutil.make_archive(base, "zip", folder)
