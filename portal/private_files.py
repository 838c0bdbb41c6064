"""Files only some people may see: kept outside the web root, with no URL of their own.

Case documents and card photos (and whatever comes next) are uploads that must never be
reachable at a guessable address under MEDIA_URL: each lives under a root directory named by a
setting, and only a view that has checked who is asking streams it. One storage class does
that for every app; an app names its setting and what to link to instead of a URL.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateFileStorage(FileSystemStorage):
    """A file system storage rooted at `settings.<root_setting>`, read when used (tests and
    deployments change the setting) and refusing to produce a URL."""

    root_setting = ""  # the name of the setting that holds the directory
    served_by = "the view that checks who is asking"  # said when something asks for a URL

    @property
    def base_location(self):
        return getattr(settings, self.root_setting)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError(f"Private files have no public URL; link to {self.served_by}.")
