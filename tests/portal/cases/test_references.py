"""References: office code + year + sequence, unique and without gaps under concurrency."""

import threading

from django.db import connection, transaction
from django.utils import timezone

import pytest

from portal.cases import services
from portal.cases.models import Case, CaseState
from tests.factories import UserFactory

from .factories import OfficeFactory, ServiceFactory


@pytest.mark.django_db
def test_a_rolled_back_submission_gives_its_number_back():
    office = OfficeFactory(code="RB")
    year = timezone.localdate().year
    assert services.allocate_reference(office, year) == f"RB-{year}-000001"
    with pytest.raises(RuntimeError), transaction.atomic():
        services.allocate_reference(office, year)
        raise RuntimeError
    assert services.allocate_reference(office, year) == f"RB-{year}-000002"
    other = OfficeFactory(code="XY")
    assert services.allocate_reference(other, year) == f"XY-{year}-000001"
    assert services.allocate_reference(office, year + 1) == f"RB-{year + 1}-000001"


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_consecutive_references():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises every writer)")
    service = ServiceFactory(office=OfficeFactory(code="CC"))
    drafts = [
        Case.objects.create(
            service=service, office=service.office, applicant=UserFactory(), state=CaseState.DRAFT
        )
        for _ in range(16)
    ]
    barrier = threading.Barrier(len(drafts))
    errors = []

    def send(case):
        try:
            barrier.wait(timeout=10)
            services.submit(case, by=case.applicant)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(case,)) for case in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    year = timezone.localdate().year
    references = sorted(Case.objects.values_list("reference", flat=True))
    assert references == [f"CC-{year}-{n:06d}" for n in range(1, 17)]
