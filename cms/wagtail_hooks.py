from wagtail import hooks


@hooks.register("load_demo_data", order=100)  # after the catalogue and the clinics
def load_cms_demo(stdout):
    from .demo import load

    load(stdout)


@hooks.register("register_mypage_panel")
def register_announcements_panel():
    from .panels import AnnouncementsPanel

    return AnnouncementsPanel()


@hooks.register("before_move_page", order=-10)
def refuse_moving_the_root(request, page, destination):
    # With localisation on, Wagtail's move view reads the moved page's parent's translations:
    # the tree's root has no parent, so moving it would be a 500 instead of a refusal.
    from django.http import Http404

    if page.is_root() or page.pk == destination.pk:
        raise Http404
