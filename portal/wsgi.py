import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Before this worker takes requests: the FHIR resource models' imports (see warm_up).
from health.fhir.capability import warm_up  # noqa: E402

warm_up()
