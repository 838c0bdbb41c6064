from django.db.models.signals import pre_delete

from . import rules


def release_places_of_deleted_user(sender, instance, **kwargs):
    """A closed account must not leave slots counting places nobody will use."""
    rules.release_all_for(instance)


def connect():
    from django.contrib.auth import get_user_model

    pre_delete.connect(
        release_places_of_deleted_user,
        sender=get_user_model(),
        dispatch_uid="booking_release_places_of_deleted_user",
    )
