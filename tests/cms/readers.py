"""An anonymous reader of the public site, for the page-cache tests: asks for an address in a
language (the language cookie), and reads what the answer carries."""

import re

from cms import page_cache

HEADER = page_cache.HEADER  # "hit" or "miss"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def get(client, url, language="en"):
    client.cookies["portal_language"] = language
    return client.get(url)
