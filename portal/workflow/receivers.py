"""Signal receivers: an object's history goes when the object goes."""

from .models import StateChange


def forget_history(sender, instance, **kwargs):
    StateChange.objects.filter(model=sender._meta.label_lower, object_id=str(instance.pk)).delete()
