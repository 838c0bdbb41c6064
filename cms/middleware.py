"""`?lang=<code>` on a public page shows it in that language for this request only.

Page addresses are the same in every language (the reader's language picks the translation), so
the hreflang alternates and the per-language feeds need a way to name a language in the URL.
The reader's own choice (cookie, profile) is not changed. An unknown code is ignored.
"""

from django.conf import settings
from django.utils import translation

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


class LanguageParameterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = request.GET.get("lang", "") if request.method in ("GET", "HEAD") else ""
        code = code.lower()
        if code not in LANGUAGE_CODES:
            return self.get_response(request)
        previous = translation.get_language()
        translation.activate(code)
        request.LANGUAGE_CODE = code
        try:
            response = self.get_response(request)
        finally:
            translation.activate(previous)
        response.headers.setdefault("Content-Language", code)
        return response
