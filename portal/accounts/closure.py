"""Close my account: a registry of closure rules, one per app, saying what happens to its data.

An app registers its rule in its `account_data.py` (beside its export part):

    from portal.accounts.closure import register_closure_rule

    @register_closure_rule("cases", order=45)
    class CasesOnClosure:
        def describe(self, user):
            open_cases = Case.objects.filter(applicant=user, ...).count()
            if not open_cases:
                return []
            return [ngettext("Your %(n)s open case stays with the office ...", ...)]

        def apply(self, user, now):
            ...

`describe(user)` returns the sentences the confirmation page shows this resident (plain words,
in the active language; an empty list when the rule has nothing to say for them). `apply` runs
inside the one transaction that closes the account; raising stops the closure and changes
nothing. Rules run in `order`; the accounts app's own rule (sign-in and profile) runs last.
"""

from dataclasses import dataclass

from .exports import discover

_rules = {}


@dataclass(frozen=True)
class ClosureRule:
    slug: str
    rule: object
    order: int = 100

    def describe(self, user):
        return list(self.rule.describe(user) or [])

    def apply(self, user, now):
        self.rule.apply(user, now)


def register_closure_rule(slug, order=100):
    """Class decorator: the class (instantiated once) has `describe(user)` and
    `apply(user, now)`."""

    def decorator(cls):
        _rules[slug] = ClosureRule(slug, cls(), order)
        return cls

    return decorator


def closure_rules():
    discover()  # the same account_data modules as the export parts
    return sorted(_rules.values(), key=lambda rule: (rule.order, rule.slug))


def what_happens(user):
    """[(slug, [sentences])] for the confirmation page, rules with nothing to say left out."""
    described = [(rule.slug, rule.describe(user)) for rule in closure_rules()]
    return [(slug, sentences) for slug, sentences in described if sentences]
