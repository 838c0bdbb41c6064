"""Every page component, tested once: what it renders, what it refuses, and how it looks and
reads in a browser at 360 px (tests/portal/components/gallery.py renders them all on one page).
"""

import re
from pathlib import Path

from django import forms
from django.conf import settings
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone, translation

import pytest
from bs4 import BeautifulSoup

from portal.components import COMPONENTS, TONES, AppointmentEntry

from .gallery import gallery_entries

ROOT = Path(settings.BASE_DIR)


def render(source, **context):
    with translation.override("en"):
        html = Template("{% load components %}" + source).render(Context(context))
    return BeautifulSoup(html, "html.parser")


# status_tag --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tone", TONES)
def test_a_status_tag_is_its_label_in_a_tone(tone):
    soup = render("{% status_tag label tone %}", label="Booked", tone=tone)
    tag = soup.select_one("strong.tag")
    assert tag.get_text() == "Booked"
    assert tag["class"] == ["tag", f"tag--{tone}"]


def test_a_status_tag_is_never_a_link_even_if_given_markup():
    soup = render("{% status_tag label %}", label='<a href="/x">Booked</a>')
    assert soup.find("a") is None
    assert soup.select_one(".tag").get_text() == '<a href="/x">Booked</a>'
    assert soup.select_one(".tag")["class"] == ["tag", "tag--neutral"]


def test_a_status_tag_refuses_an_unknown_tone():
    with pytest.raises(TemplateSyntaxError, match="tone"):
        render('{% status_tag "Booked" "green" %}')


# summary_list ------------------------------------------------------------------------------------
def test_a_summary_list_is_a_description_list_of_rows():
    soup = render(
        "{% summary_list %}"
        '{% summary_row "Service" %}<b>Vaccination</b>{% endsummary_row %}'
        '{% summary_row "Clinic" action_url="/edit/" action_label="Change" %}{{ clinic }}'
        "{% endsummary_row %}{% endsummary_list %}",
        clinic="Harbour <clinic>",
    )
    rows = soup.select("dl.summary-list > div.summary-list__row")
    assert [row.dt.get_text() for row in rows] == ["Service", "Clinic"]
    assert rows[0].select_one("dd b").get_text() == "Vaccination"  # a value may hold markup
    assert rows[1].select_one("dd.summary-list__value").get_text() == "Harbour <clinic>"
    action = rows[1].select_one("dd.summary-list__actions a")
    assert action["href"] == "/edit/"
    # "Change" alone would be ambiguous in a screen reader's list of links.
    assert action.get_text() == "Change Clinic"
    assert action.select_one(".visually-hidden").get_text() == " Clinic"
    assert "summary-list--compact" not in soup.dl["class"]


def test_a_compact_summary_list_and_an_action_needs_both_url_and_label():
    soup = render(
        "{% summary_list compact=True %}"
        '{% summary_row "A" %}1{% endsummary_row %}{% endsummary_list %}'
    )
    assert soup.dl["class"] == ["summary-list", "summary-list--compact"]
    with pytest.raises(TemplateSyntaxError, match="URL and a label"):
        render('{% summary_row "A" action_url="/x/" %}1{% endsummary_row %}')


# appointment_list --------------------------------------------------------------------------------
def test_an_appointment_list_links_each_time_and_shows_its_status():
    entries = gallery_entries()
    soup = render("{% appointment_list entries %}", entries=entries)
    items = soup.select("ul.appointment-list > li.appointment-list__item")
    assert len(items) == len(entries)
    first = items[0]
    link = first.select_one(".appointment-list__head a")
    assert link["href"] == entries[0].url
    assert link.time["datetime"] == entries[0].start.isoformat()
    assert link.get_text() == "Tue 1 Dec 2026, 09:30"
    assert first.select_one(".tag").get_text() == "Booked"
    assert "Vaccination · Harbour clinic" in first.get_text()
    assert "For Chan Siu Ming" in first.get_text()
    moved = items[1].select_one(".appointment-list__note a")
    assert moved.get_text() == entries[1].note and moved["href"] == entries[1].note_url


def test_an_empty_appointment_list_says_so_or_renders_nothing():
    empty = render('{% appointment_list entries empty="Nothing yet." %}', entries=[])
    assert empty.get_text().strip() == "Nothing yet."
    assert render("{% appointment_list entries %}", entries=[]).get_text().strip() == ""


def test_an_appointment_entry_with_an_unknown_tone_is_refused():
    entry = AppointmentEntry(start=timezone.now(), url="/a/", title="X", status="Odd", tone="red")
    with pytest.raises(TemplateSyntaxError, match="tone"):
        render("{% appointment_list entries %}", entries=[entry])


# what_happens_next -------------------------------------------------------------------------------
def test_what_happens_next_is_a_section_named_by_its_heading():
    soup = render("{% what_happens_next %}<p>We will remind you.</p>{% endwhat_happens_next %}")
    section = soup.select_one("section.next-steps")
    heading = section.find("h2")
    assert heading.get_text() == "What happens next"
    assert section["aria-labelledby"] == heading["id"]
    assert section.p.get_text() == "We will remind you."
    soup = render('{% what_happens_next title="Next" heading_level=3 %}x{% endwhat_happens_next %}')
    assert soup.find("h3").get_text() == "Next"
    with pytest.raises(TemplateSyntaxError, match="heading level"):
        render("{% what_happens_next heading_level=1 %}x{% endwhat_happens_next %}")


def test_what_happens_next_speaks_the_readers_language():
    with translation.override("zh-hant"):
        html = Template(
            "{% load components %}{% what_happens_next %}x{% endwhat_happens_next %}"
        ).render(Context())
    assert "後續安排" in html


# notification_banner -----------------------------------------------------------------------------
def test_an_important_banner_is_a_labelled_region():
    soup = render(
        "{% notification_banner %}<p>Clinics close early.</p>{% endnotification_banner %}"
    )
    banner = soup.select_one(".notification-banner")
    title = banner.select_one("h2.notification-banner__title")
    assert banner["role"] == "region"
    assert banner["aria-labelledby"] == title["id"]
    assert title.get_text() == "Important"
    assert "notification-banner--important" in banner["class"]
    assert banner.select_one(".notification-banner__content p").get_text() == "Clinics close early."


def test_a_success_banner_is_announced_at_once_and_titles_can_change():
    soup = render('{% notification_banner kind="success" %}Booked.{% endnotification_banner %}')
    banner = soup.select_one(".notification-banner")
    assert banner["role"] == "alert" and not banner.has_attr("aria-labelledby")
    assert banner.h2.get_text() == "Success"
    soup = render('{% notification_banner title="Offer" %}x{% endnotification_banner %}')
    assert soup.h2.get_text() == "Offer"
    with pytest.raises(TemplateSyntaxError, match="kind"):
        render('{% notification_banner kind="error" %}x{% endnotification_banner %}')


def test_two_banners_on_one_page_have_their_own_titles():
    soup = render(
        "{% notification_banner %}a{% endnotification_banner %}"
        "{% notification_banner %}b{% endnotification_banner %}"
    )
    ids = [h2["id"] for h2 in soup.find_all("h2")]
    assert len(set(ids)) == 2
    assert [b["aria-labelledby"] for b in soup.select(".notification-banner")] == ids


# error_summary -----------------------------------------------------------------------------------
class ExampleForm(forms.Form):
    name = forms.CharField(label="Your name")
    choice = forms.ChoiceField(
        label="Who is it for?",
        choices=[("me", "Me"), ("child", "My child")],
        widget=forms.RadioSelect,
    )

    def clean(self):
        raise forms.ValidationError("Something about the whole form.")


def test_the_error_summary_lists_each_error_linked_to_its_field():
    form = ExampleForm(data={})
    soup = render("{% error_summary form %}", form=form)
    summary = soup.select_one(".error-summary")
    assert summary["role"] == "alert"
    assert summary.has_attr("autofocus") and summary["tabindex"] == "-1"
    assert summary.h2.get_text() == "There is a problem"
    items = summary.select("li")
    assert items[0].get_text() == "Something about the whole form."
    links = {a["href"]: a.get_text() for a in summary.select("li a")}
    assert links["#id_name"] == "Your name: This field is required."
    # A radio group has no element for #id_choice: the link goes to its first option.
    assert links["#id_choice_0"] == "Who is it for?: This field is required."


def test_the_error_summary_is_empty_for_an_unbound_or_valid_form():
    assert render("{% error_summary form %}", form=ExampleForm()).get_text().strip() == ""


def test_the_error_summary_can_list_problems_that_are_not_a_forms():
    soup = render(
        '{% error_summary_list title="Some answers are missing" %}'
        '<li><a href="/edit/#id_name">Your name</a></li>{% enderror_summary_list %}'
    )
    summary = soup.select_one(".error-summary")
    assert summary["role"] == "alert" and summary.h2.get_text() == "Some answers are missing"
    assert [a["href"] for a in summary.select("li a")] == ["/edit/#id_name"]
    empty = render('{% error_summary_list title="x" %}{% enderror_summary_list %}')
    assert empty.get_text().strip() == ""


def test_the_old_include_renders_the_same_component():
    form = ExampleForm(data={})
    include = Template('{% include "includes/form_errors.html" %}').render(Context({"form": form}))
    tag = Template("{% load components %}{% error_summary form %}").render(Context({"form": form}))
    assert include.strip() == tag.strip()


# one way in --------------------------------------------------------------------------------------
COMPONENT_CLASSES = (
    "tag",
    "summary-list",
    "error-summary",
    "notification-banner",
    "appointment-list",
    "next-steps",
)
COMPONENT_MARKUP = re.compile('class="(' + "|".join(COMPONENT_CLASSES) + ')[ "]')


def test_no_template_writes_a_components_markup_by_hand():
    """A component looks the same everywhere because every page gets it from its tag."""
    offenders = []
    for folder in ("portal", "health", "cms", "transit"):
        for path in (ROOT / folder).rglob("templates/**/*.html"):
            if "templates/components" in path.as_posix():
                continue
            if COMPONENT_MARKUP.search(path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.django_db
def test_every_component_has_its_template_and_its_stylesheet_on_every_page(client):
    templates = ROOT / "portal" / "templates" / "components"
    head = client.get("/accounts/login/").content.decode().split("</head>")[0]
    for name in COMPONENTS:
        assert (templates / f"{name}.html").exists()
        css = ROOT / "portal" / "static" / "css" / "components" / f"{name}.css"
        assert css.read_text().startswith(f"/* components/{name}.html"), name
        assert head.count(f'href="/static/css/components/{name}.css"') == 1, name


# messages ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_flash_message_is_a_banner_before_the_h1(resident_client):
    resident_client.cookies["portal_language"] = "en"
    response = resident_client.post(
        "/me/layout/", {"panel": "inbox", "action": "hide"}, follow=True
    )
    soup = BeautifulSoup(response.content, "html.parser")
    main = soup.select_one("main")
    banner = main.select_one(".notification-banner--success")
    assert banner["role"] == "alert"
    assert "The panel is hidden" in banner.get_text()
    assert main.find_all(["h1", "div"], recursive=False)[0] is banner


# in a browser ------------------------------------------------------------------------------------
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.portal.components.gallery")
def test_every_component_reads_well_at_360px_and_passes_axe(page):
    for language in ("en", "zh-hant"):
        page.visit(f"/gallery/?language={language}")  # visit() runs axe-core
        page.assert_fits()
        # Colour is never alone: every tag has visible text, and a border shows its shape.
        for tag in page.query_selector_all(".tag"):
            assert tag.inner_text().strip()
            assert tag.evaluate("t => getComputedStyle(t).borderTopStyle") == "solid"
    # The error summary takes focus on arrival, so a keyboard user starts from the problems.
    assert page.evaluate("document.activeElement.className") == "error-summary"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#id_name"
    # The day's first banner comes before the page's h1.
    order = page.evaluate(
        "[...document.querySelectorAll('.notification-banner, h1')].map(e => e.tagName)"
    )
    assert order[:2] == ["DIV", "H1"]
