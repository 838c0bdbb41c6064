"""What a web process does once, after the application loads and before its first request.

portal/wsgi.py calls prepare_to_serve() last. Without it a fresh gunicorn worker read, inside
the requests of whoever came first, the translation catalogues of each language (merged from
every app) and built the URL map of each language (Django keeps one per language); and every
full garbage collection, whenever one came, walked the half a million objects that importing
Django, Wagtail and the FHIR models leaves behind: a quarter of a second or more on a 2-vCPU
VM during which that worker answered nobody (docs/benchmarks.md, "A fresh web process"). With
gunicorn's --preload the master does all this once and the workers it forks inherit it.
"""

import gc

from django.conf import settings
from django.urls import get_resolver
from django.utils import translation


def load_languages():
    """Each language's catalogues and URL map, read now rather than by a request."""
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Home")  # loads (and caches) the merged catalogues
            get_resolver().reverse_dict  # noqa: B018 (the property builds the map)


def freeze_what_is_loaded():
    """Collect once, then move every object alive now (modules, classes, settings, catalogues,
    URL maps: they live as long as the process) out of the collector's sight, so its full
    collections walk only what requests create. Forked workers share these objects' memory
    pages for longer too, since the collector no longer writes to them."""
    gc.collect()
    gc.freeze()


def prepare_to_serve():
    load_languages()
    freeze_what_is_loaded()
