"""Record sections show the latest entries, say so, and read a bounded number of queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import pytest

from .conftest import english

pytestmark = pytest.mark.django_db


def test_section_says_when_it_shows_only_the_latest(linked_resident, settings):
    client, user, _pid = linked_resident(seed=49, encounters=12)
    english(user)
    url = reverse("records:section", args=["encounters"])
    assert "Showing the latest" not in client.get(url).content.decode()
    settings.RECORDS_VISITS_LIMIT = 5
    response = client.get(url)
    assert len(response.context["page"].object_list) == 5
    assert "Showing the latest 5 entries." in response.content.decode()
    settings.RECORDS_VISITS_LIMIT = 12
    assert "Showing the latest" not in client.get(url).content.decode()


def test_section_query_counts_do_not_grow(linked_resident, settings):
    settings.RECORDS_VISITS_LIMIT = 5
    small_client, _u, _p = linked_resident(seed=50, encounters=3)
    big_client, _u2, _p2 = linked_resident(seed=51, encounters=20)
    url = reverse("records:section", args=["encounters"])
    # The first page of the process fills per-process caches (the cms site menu): warm them.
    warm_client, _u3, _p3 = linked_resident(seed=49, encounters=1)
    warm_client.get(url)
    counts = []
    for client in (small_client, big_client):
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))
    assert counts[0] == counts[1]
