"""Races on PostgreSQL: several tabs starting a card application for one person at once make
exactly one (the partial unique constraint), and the others get the translated refusal."""

import threading

from django.db import connection

import pytest

from portal.cards import services
from portal.cards.models import CardApplication

from .factories import OfficeFactory, UserFactory, application_data, checked_photo

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrent transactions need PostgreSQL"
)


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_starts_for_one_person_make_one_application(card_files):
    resident = UserFactory()
    office = OfficeFactory()
    photos = [checked_photo() for _ in range(6)]
    barrier = threading.Barrier(len(photos))
    results = [None] * len(photos)

    def worker(index):
        try:
            barrier.wait(timeout=30)
            services.start(resident, application_data(office), photos[index])
            results[index] = "won"
        except services.CardError:
            results[index] = "refused"
        except Exception as error:  # anything else is a failure the test reports
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(photos))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, results)) == ["refused"] * 5 + ["won"]
    assert CardApplication.objects.filter(applicant=resident).count() == 1
    # The losers' photos were removed again: one file is left.
    assert len(list((card_files / "photos").iterdir())) == 1
