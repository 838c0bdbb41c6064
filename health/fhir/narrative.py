"""Narrative XHTML (`text.div`) checked against FHIR's rules before it is stored.

FHIR allows a narrative only the basic HTML formatting elements, images, links and style
attributes (txt-1), and no active content. A narrative with a script, an event handler, a
`javascript:` link, a form or an embedded object is refused with 422 naming the element: a
clinic system that sent it learns at once, and no page or app ever receives it from us.
"""

from html.parser import HTMLParser

# The elements FHIR's txt-1 allows (HTML 4.0 chapters 7-11 and 15, links and images).
ALLOWED = frozenset(
    [
        "a",
        "abbr",
        "acronym",
        "b",
        "big",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "tt",
        "ul",
        "var",
    ]
)
_URL_ATTRIBUTES = {"href", "src", "longdesc", "cite", "usemap"}
_ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problem = None
        self.first = None
        self.text = False

    def _refuse(self, message):
        if self.problem is None:
            self.problem = message

    def handle_starttag(self, tag, attrs):
        if self.first is None:
            self.first = (tag, dict(attrs))
        if tag not in ALLOWED:
            self._refuse(f"the element <{tag}> is not allowed in a narrative")
        for name, value in attrs:
            if name.startswith("on"):
                self._refuse(f"the event handler attribute {name} is not allowed")
            elif name in _URL_ATTRIBUTES:
                # Browsers ignore control characters and spaces inside a scheme.
                url = "".join(c for c in (value or "") if c > " ").lower()
                if url.startswith(_ACTIVE_SCHEMES):
                    self._refuse(f"the {name} of <{tag}> may not run script")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if data.strip():
            self.text = True

    def handle_pi(self, data):
        self._refuse("processing instructions are not allowed in a narrative")

    def unknown_decl(self, data):
        self._refuse("declarations are not allowed in a narrative")


def narrative_problem(div):
    """Why a narrative's XHTML may not be stored, or None when it may."""
    if not isinstance(div, str):
        return None  # the model validation reports the type
    checker = _Checker()
    checker.feed(div)
    checker.close()
    if checker.problem:
        return checker.problem
    if checker.first is None or checker.first[0] != "div":
        return "a narrative must be one <div> element"
    if checker.first[1].get("xmlns") != "http://www.w3.org/1999/xhtml":
        return 'the narrative <div> needs xmlns="http://www.w3.org/1999/xhtml"'
    return None


def narrative_issues(data, path):
    """OperationOutcome issues for the narratives of a resource and its contained ones."""
    issues = []
    resources = [(data, path)]
    resources += [
        (item, f"{path}.contained[{i}]")
        for i, item in enumerate(data.get("contained") or [])
        if isinstance(item, dict)
    ]
    for resource, where in resources:
        text = resource.get("text")
        if isinstance(text, dict):
            problem = narrative_problem(text.get("div"))
            if problem:
                expression = f"{where}.text.div"
                issues.append(
                    {
                        "severity": "error",
                        "code": "value",
                        "diagnostics": f"{expression}: {problem}",
                        "expression": [expression],
                    }
                )
    return issues
