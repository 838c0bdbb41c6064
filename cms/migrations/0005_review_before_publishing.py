"""Moderation: editors write and submit, reviewers publish.

A "Reviewers" staff group gets the page rights on every language's tree, including publish;
the Editors group loses publish (so an editor's only way out is "Submit for moderation"); the
workflow "Review before publishing" (one group approval task for the reviewers) is set on each
language's home page, so it covers the whole public site.
"""

from django.db import migrations

REVIEWERS = "Reviewers"
EDITORS = "Editors"
PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"]
MODEL_PERMISSIONS = [
    ("wagtailadmin", "admin", "access_admin"),
    ("wagtailimages", "image", "choose_image"),
    ("wagtaildocs", "document", "choose_document"),
]


def permission(apps, app_label, model, codename):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    perm, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=codename, defaults={"name": codename.replace("_", " ")}
    )
    return perm


def set_up_review(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    HomePage = apps.get_model("cms", "HomePage")
    Workflow = apps.get_model("wagtailcore", "Workflow")
    WorkflowTask = apps.get_model("wagtailcore", "WorkflowTask")
    WorkflowPage = apps.get_model("wagtailcore", "WorkflowPage")
    GroupApprovalTask = apps.get_model("wagtailcore", "GroupApprovalTask")

    reviewers, _ = Group.objects.get_or_create(name=REVIEWERS)
    for app_label, model, codename in MODEL_PERMISSIONS:
        reviewers.permissions.add(permission(apps, app_label, model, codename))
    homes = list(HomePage.objects.all())
    for home in homes:
        for codename in PAGE_PERMISSIONS:
            GroupPagePermission.objects.get_or_create(
                group=reviewers,
                page_id=home.pk,
                permission=permission(apps, "wagtailcore", "page", codename),
            )
    publish = permission(apps, "wagtailcore", "page", "publish_page")
    GroupPagePermission.objects.filter(group__name=EDITORS, permission=publish).delete()

    task_type, _ = ContentType.objects.get_or_create(
        app_label="wagtailcore", model="groupapprovaltask"
    )
    task = GroupApprovalTask.objects.filter(name="Reviewer approval").first()
    if task is None:
        task = GroupApprovalTask.objects.create(
            name="Reviewer approval", content_type=task_type, active=True
        )
    task.groups.set([reviewers])
    workflow, _ = Workflow.objects.get_or_create(
        name="Review before publishing", defaults={"active": True}
    )
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    for home in homes:
        WorkflowPage.objects.update_or_create(page_id=home.pk, defaults={"workflow": workflow})


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0004_home_page_in_every_language"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(set_up_review, migrations.RunPython.noop)]
