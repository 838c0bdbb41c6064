"""Shared factories for the whole suite. App-specific factories live beside their tests."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

import factory
from allauth.account.models import EmailAddress

from portal.accounts import roles
from portal.accounts.models import Community, Street

DEFAULT_PASSWORD = "correct horse battery"


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"community-{n}")
    name_zh_hant = factory.Sequence(lambda n: f"第{n}社區")
    name_zh_hans = factory.Sequence(lambda n: f"第{n}社区")
    name_en = factory.Sequence(lambda n: f"Community {n}")
    latitude = "22.300000"
    longitude = "114.170000"


class StreetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Street

    community = factory.SubFactory(CommunityFactory)
    name_zh_hant = factory.Sequence(lambda n: f"第{n}街")
    name_zh_hans = factory.Sequence(lambda n: f"第{n}街")
    name_en = factory.Sequence(lambda n: f"Street {n}")


class UserFactory(factory.django.DjangoModelFactory):
    """A resident with a verified primary e-mail address and a profile."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"resident{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.update_or_create(
                user=self,
                email=self.email,
                defaults={"primary": True, "verified": True if extracted is None else extracted},
            )

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            _add_groups(self, extracted)


def _add_groups(user, names):
    for name in names:
        # Staff groups come from data migrations; a transactional test's flush may have
        # emptied the table before this test.
        user.groups.add(Group.objects.get_or_create(name=name)[0])


def _in_role(role):
    """A `groups` declaration for a trait: the role's group, and any groups= passed too."""

    def add(user, create, extracted, **kwargs):
        if create:
            _add_groups(user, [role, *(extracted or [])])

    return factory.PostGeneration(add)


class StaffFactory(UserFactory):
    """Someone who works for the district. Traits give the role: `clinic_staff`, `editor`,
    `reviewer`, `case_officer`, `superuser`; `mfa=True` gives them TOTP (StaffMFAMiddleware
    sends staff without it to set it up first); `clinics=[...]` makes them staff of those clinics.

        StaffFactory(clinic_staff=True, mfa=True, clinics=[clinic])
    """

    username = factory.Sequence(lambda n: f"staff{n}")

    class Params:
        clinic_staff = factory.Trait(groups=_in_role(roles.CLINIC_STAFF))
        editor = factory.Trait(groups=_in_role(roles.EDITORS))
        case_officer = factory.Trait(groups=_in_role(roles.CASE_OFFICERS))
        reviewer = factory.Trait(groups=_in_role(roles.REVIEWERS))
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def mfa(self, create, extracted, **kwargs):
        if create and extracted:
            with_totp(self)

    @factory.post_generation
    def clinics(self, create, extracted, **kwargs):
        if create and extracted:
            for clinic in extracted:
                clinic.staff.add(self)


def with_totp(user, secret="JBSWY3DPEHPK3PXP"):
    """Give a staff account TOTP, which StaffMFAMiddleware requires before anything else."""
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": secret})
    return user
