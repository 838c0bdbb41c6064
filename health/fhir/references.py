"""Literal references: which are local, and whether the resources they name exist.

- `Type/id` (and `Type/id/_history/n`) is local. An absolute URL is local only when it starts
  with one of the server's own base URLs (`FHIR_BASE_URL`, `FHIR_LOCAL_BASE_URLS`); any
  other absolute URL names a resource on another server and is never resolved to a local
  one, so a result from another hospital can never be filed under a local patient.
- `#id` names a contained resource of the same resource.

integrity.py checks that the local ones name resources that exist.
"""

from django.conf import settings

HTTP = ("http://", "https://")


def local_bases():
    """The base URLs (no trailing slash) under which absolute references are ours."""
    bases = [settings.FHIR_BASE_URL, *settings.FHIR_LOCAL_BASE_URLS]
    return tuple(b.rstrip("/") + "/" for b in bases if b)


def local_part(reference):
    """`Type/id[/_history/n]` of a reference to this server, else None (external URL,
    contained, urn:, conditional, or not a reference)."""
    if not isinstance(reference, str) or not reference or reference.startswith("#"):
        return None
    if reference.startswith(HTTP):
        for base in local_bases():
            if reference.startswith(base):
                return reference[len(base) :]
        return None
    if reference.startswith("urn:") or "?" in reference:
        return None
    return reference


def parse_local(reference):
    """(type, id) of a local literal reference; None for anything else."""
    part = local_part(reference)
    if part is None:
        return None
    pieces = part.rstrip("/").split("/")
    if len(pieces) == 4 and pieces[2] == "_history":
        pieces = pieces[:2]
    if len(pieces) != 2 or not pieces[0][:1].isupper() or not pieces[1]:
        return None
    return pieces[0], pieces[1]


def references_in(node):
    """Every `reference` string anywhere below a node, in document order."""
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str):
                found.append(ref)
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return found


def element_of(node, reference, root):
    """The FHIRPath-like path of the first element holding `reference` ("" if none)."""
    stack = [(node, root)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            if item.get("reference") == reference:
                return f"{path}.reference"
            for key, value in reversed(list(item.items())):
                if isinstance(value, dict | list):
                    stack.append((value, f"{path}.{key}"))
        elif isinstance(item, list):
            for index in reversed(range(len(item))):
                if isinstance(item[index], dict | list):
                    stack.append((item[index], f"{path}[{index}]"))
    return root
