"""The site in three languages: a Locale per portal language and a translated home page for
each, so translated pages have a tree to live in (Wagtail localisation). Editors get the same
rights on every language's tree."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"]
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STEPLEN = 4


def next_child_path(parent_path, last_child_path):
    if last_child_path is None:
        return parent_path + "0001"
    step = last_child_path[-STEPLEN:]
    value = 0
    for char in step:
        value = value * len(ALPHABET) + ALPHABET.index(char)
    value += 1
    digits = ""
    for _ in range(STEPLEN):
        value, rest = divmod(value, len(ALPHABET))
        digits = ALPHABET[rest] + digits
    return parent_path + digits


def translate_home(apps, schema_editor):
    Locale = apps.get_model("wagtailcore", "Locale")
    Page = apps.get_model("wagtailcore", "Page")
    Site = apps.get_model("wagtailcore", "Site")
    HomePage = apps.get_model("cms", "HomePage")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")

    locales = {}
    for code, _name in settings.LANGUAGES:
        locales[code], _ = Locale.objects.get_or_create(language_code=code)

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        return
    home = HomePage.objects.filter(pk=site.root_page_id).first()
    if home is None:
        return
    root = Page.objects.get(depth=1)
    editors = Group.objects.filter(name="Editors").first()
    now = timezone.now()
    for code, locale in locales.items():
        if HomePage.objects.filter(translation_key=home.translation_key, locale=locale).exists():
            continue
        last = Page.objects.filter(depth=2).order_by("-path").values_list("path", flat=True).first()
        slug = f"{home.slug}-{code}"
        copy = HomePage.objects.create(
            title=home.title,
            draft_title=home.title,
            slug=slug,
            content_type_id=home.content_type_id,
            path=next_child_path(root.path, last),
            depth=2,
            numchild=0,
            url_path=f"/{slug}/",
            locale=locale,
            translation_key=home.translation_key,
            live=True,
            first_published_at=now,
            last_published_at=now,
            intro=home.intro,
            body=home.body,
        )
        root.numchild = Page.objects.filter(depth=2).count()
        root.save(update_fields=["numchild"])
        if editors is not None:
            for codename in PAGE_PERMISSIONS:
                permission = Permission.objects.filter(
                    content_type__app_label="wagtailcore", codename=codename
                ).first()
                if permission is not None:
                    GroupPagePermission.objects.get_or_create(
                        group=editors, page_id=copy.pk, permission=permission
                    )


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0003_announcements_guides_clinics_and_standard_pages"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(translate_home, migrations.RunPython.noop)]
