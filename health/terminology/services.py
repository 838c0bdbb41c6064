"""Codes in the reader's language.

    terms = Terms()                      # the active language
    label = terms.concept(codeable_concept)
    ...                                  # more labels: nothing is read yet
    str(label)                           # the first use reads every pending code at once

A page builds all its labels first and renders them after, so the page costs one query
whatever the number of items. A code the table does not know (or knows without a name in the
reader's language) keeps the original words, marked with their own language: rendered in a
template, a Label is then `<span lang="en">…</span>`.
"""

import re

from django.utils.html import escape, format_html
from django.utils.translation import get_language

from .models import Term

LANGUAGES = ("zh_hant", "zh_hans", "en")
# The BCP 47 tag of each language key, as pages and FHIR write it.
TAGS = {"zh_hant": "zh-Hant", "zh_hans": "zh-Hans", "en": "en"}
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def language_key(language=None):
    """ "zh_hant", "zh_hans" or "en" for a language tag ("zh-hant", "zh-Hans", "zh-TW",
    "zh-CN", "en-GB", ...); None for a language the table does not hold."""
    tag = (language or get_language() or "zh-hant").lower().replace("_", "-")
    if tag.startswith("en"):
        return "en"
    if tag.startswith("zh"):
        if any(part in tag for part in ("hans", "-cn", "-sg", "-my")):
            return "zh_hans"
        return "zh_hant"
    return None


def original_language(text):
    """The language tag of words the table could not translate: Chinese if written in Han
    characters (staff typed them), else English (code systems' own displays are English)."""
    return "zh" if _HAN.search(text or "") else "en"


class Label:
    """A code's words for the reader: `str()` gives the text; `lang` is None when the text is in
    the reader's language, else the tag of the language it is in (also as HTML markup)."""

    __slots__ = ("_terms", "_codings", "_fallback", "_resolved")

    def __init__(self, terms, codings, fallback):
        self._terms = terms
        self._codings = codings
        self._fallback = fallback
        self._resolved = None

    def _resolve(self):
        if self._resolved is None:
            self._resolved = self._terms._words(self._codings, self._fallback)
        return self._resolved

    @property
    def text(self):
        return self._resolve()[0]

    @property
    def lang(self):
        return self._resolve()[1]

    def __str__(self):
        return self.text

    def __bool__(self):
        return bool(self.text)

    def __html__(self):
        text, lang = self._resolve()
        if lang:
            return format_html('<span lang="{}">{}</span>', lang, text)
        return escape(text)

    def __eq__(self, other):
        return str(self) == str(other)

    def __hash__(self):
        return hash(str(self))

    def __repr__(self):
        return f"Label({self.text!r}, lang={self.lang!r})"


def _codings(concept):
    if not isinstance(concept, dict):
        return []
    return [
        (c.get("system") or "", str(c.get("code")))
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("code")
    ]


def concept_words(concept):
    """The original words for a CodeableConcept: its text, else the first coding's display or
    code (what the record showed before it had translations)."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding["code"])
    return ""


class Terms:
    """Labels in one language, looked up together (see the module's docstring)."""

    def __init__(self, language=None):
        self.key = language_key(language)
        self._pending = set()
        self._names = {}

    def concept(self, concept, default=""):
        """The label of a CodeableConcept (a dict; anything else gives `default`)."""
        return self._label(_codings(concept), concept_words(concept) or default)

    def coding(self, system, code, display=""):
        return self._label([(system or "", str(code))] if code else [], display or code or "")

    def _label(self, codings, fallback):
        for pair in codings:
            if pair not in self._names:
                self._pending.add(pair)
        return Label(self, codings, fallback)

    def _load(self):
        pending, self._pending = self._pending, set()
        if not pending:
            return
        for pair in pending:
            self._names[pair] = None
        codes = {code for _system, code in pending}
        for term in Term.objects.filter(code__in=codes).only(
            "system", "code", "display_en", "display_zh_hant", "display_zh_hans"
        ):
            if (term.system, term.code) in pending:
                self._names[(term.system, term.code)] = term.display(self.key) if self.key else ""

    def _words(self, codings, fallback):
        """(text, lang): the first coding the table names in the reader's language, else the
        original words with the tag of their language (None when that is the reader's)."""
        if self._pending:
            self._load()
        for pair in codings:
            name = self._names.get(pair)
            if name:
                return name, None
        lang = original_language(fallback)
        reader = TAGS.get(self.key, "")
        same = lang == reader or (lang == "zh" and reader.startswith("zh"))
        return fallback, (None if same or not fallback else lang)


def lookup(system, code):
    """The Term for a system and code, or None."""
    return Term.objects.filter(system=system, code=code).first()
