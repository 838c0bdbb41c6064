"""What a web process does once, after the application loads and before its first request.

portal/wsgi.py calls prepare_to_serve() last. Without it a fresh gunicorn worker read, inside
the requests of whoever came first, the translation catalogues of each language (merged from
every app) and built the URL maps of each language (Django keeps them per language, for the
root and for each namespace); and every full garbage collection, whenever one came, walked the
half a million objects that importing Django, Wagtail and the FHIR models leaves behind: a
quarter of a second or more on a 2-vCPU VM during which that worker answered nobody
(docs/benchmarks.md, "A fresh web process"). With gunicorn's --preload the master does all
this once and the workers it forks inherit it.
"""

import gc

from django.conf import settings
from django.urls import get_ns_resolver, get_resolver
from django.utils import translation


def _namespaced_resolvers(resolver, pattern="", converters=()):
    """The resolvers reverse() builds (and caches) for namespaced names such as
    "booking:slot": one per namespace, nested ones too, with the same arguments."""
    for extra, sub in resolver.namespace_dict.values():
        ns_pattern = pattern + extra
        ns_converters = tuple({**dict(converters), **sub.pattern.converters}.items())
        yield get_ns_resolver(ns_pattern, sub, ns_converters)
        yield from _namespaced_resolvers(sub, ns_pattern, ns_converters)


def load_languages():
    """Each language's catalogues (activating a language reads and merges them) and its URL
    maps, the root's and each namespace's, built now rather than by a request."""
    for code, _name in settings.LANGUAGES:
        with translation.override(code, deactivate=True):
            for resolver in (get_resolver(), *_namespaced_resolvers(get_resolver())):
                resolver.reverse_dict  # noqa: B018 (the property builds the map)


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
