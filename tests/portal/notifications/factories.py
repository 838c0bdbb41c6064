from django.utils import timezone

import factory

from portal.notifications.models import Delivery, Message
from tests.factories import UserFactory


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    user = factory.SubFactory(UserFactory)
    kind = "general"
    subject = factory.Sequence(lambda n: f"Message {n}")
    body = "Something happened that you should know about."
    language = "en"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda message: message.created_at)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    message = factory.SubFactory(MessageFactory)
    channel = Delivery.Channel.EMAIL
    status = Delivery.Status.PENDING


def set_profile(user, **fields):
    """Change the user's profile and keep the cached user.profile in step."""
    profile = user.profile
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save()
    return profile
