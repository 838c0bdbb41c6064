"""An anonymous reader of the public site, for the page-cache tests: asks for an address in a
language (the language cookie), and reads what the answer carries."""

import re

from django.urls import reverse

from cms import page_cache
from tests.factories import UserFactory

HEADER = page_cache.HEADER  # "hit" or "miss"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def get(client, url, language="en"):
    client.cookies["portal_language"] = language
    return client.get(url)


def signed_out(client, url="/"):
    """The page at `url` for a reader who has just signed out: "You have signed out." waits
    to be shown to them."""
    client.force_login(UserFactory())
    client.cookies["portal_language"] = "en"
    client.post(reverse("account_logout"))
    return get(client, url)
