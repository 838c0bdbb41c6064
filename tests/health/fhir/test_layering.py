"""health/fhir is the bottom of health/: it imports nothing from the apps built on it, and
none of its modules import each other in a circle (issue 9 §4)."""

import ast
from pathlib import Path

import health.fhir

PACKAGE = Path(health.fhir.__file__).parent


def _imports():
    """{module: {imported health.fhir modules or other project modules}} of health/fhir."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = "health.fhir." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{parent}.{base}" if base else parent
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
        graph[module] = names
    return graph


def test_fhir_imports_nothing_from_records_or_booking():
    upward = {
        (module, name)
        for module, names in _imports().items()
        for name in names
        if name.startswith(("health.records", "health.booking"))
    }
    assert upward == set()


def test_no_two_fhir_modules_import_each_other():
    graph = _imports()
    modules = set(graph)
    edges = {m: {n for n in graph[m] if n in modules and n != m} for m in modules}

    def reaches(start, goal):
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            for nxt in edges[node]:
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    cycles = sorted(m for m in modules if reaches(m, m))
    assert cycles == []
