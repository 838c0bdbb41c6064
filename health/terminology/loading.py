"""Loading the seed file (or another CSV of the same columns) into the terminology table."""

import csv
from pathlib import Path

from django.db import transaction

from .models import Term

SEED = Path(__file__).resolve().parent / "seed" / "terms.csv"
COLUMNS = ("system", "code", "en", "zh_hant", "zh_hans")


class SeedError(ValueError):
    """A row of the file cannot be loaded; the message names the line."""


def read_rows(path=SEED):
    """The file's rows as dicts, checked: every column there, system and code filled in,
    each (system, code) once."""
    rows, seen = [], set()
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise SeedError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            row = {key: (row.get(key) or "").strip() for key in COLUMNS}
            if not row["system"] or not row["code"]:
                raise SeedError(f"{path}:{line}: system and code are required")
            key = (row["system"], row["code"])
            if key in seen:
                raise SeedError(f"{path}:{line}: {row['system']} {row['code']} is there twice")
            seen.add(key)
            rows.append(row)
    return rows


@transaction.atomic
def load(path=SEED, *, overwrite=False):
    """Add the file's terms; names staff already changed are kept unless `overwrite`.
    Returns (added, updated)."""
    rows = read_rows(path)
    existing = {
        (t.system, t.code): t for t in Term.objects.filter(code__in={r["code"] for r in rows})
    }
    added, changed = [], []
    for row in rows:
        term = existing.get((row["system"], row["code"]))
        names = {
            "display_en": row["en"],
            "display_zh_hant": row["zh_hant"],
            "display_zh_hans": row["zh_hans"],
        }
        if term is None:
            added.append(Term(system=row["system"], code=row["code"], **names))
            continue
        update = {
            field: value
            for field, value in names.items()
            if value and (overwrite or not getattr(term, field)) and getattr(term, field) != value
        }
        if update:
            for field, value in update.items():
                setattr(term, field, value)
            changed.append(term)
    Term.objects.bulk_create(added)
    for term in changed:
        term.save()
    return len(added), len(changed)
