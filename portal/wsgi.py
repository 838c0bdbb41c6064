import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Before this worker takes requests: the FHIR resource models' imports (see warm_up), then
# each language's catalogues and URL maps, and the loaded objects frozen out of the garbage
# collector's full collections (see portal/warmup.py). Freezing comes last.
from health.fhir.capability import warm_up  # noqa: E402
from portal.warmup import prepare_to_serve  # noqa: E402

warm_up()
prepare_to_serve()
