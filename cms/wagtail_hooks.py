from wagtail import hooks


@hooks.register("load_demo_data", order=100)  # after the catalogue and the clinics
def load_cms_demo(stdout):
    from .demo import load

    load(stdout)


@hooks.register("register_mypage_panel")
def register_announcements_panel():
    from .panels import AnnouncementsPanel

    return AnnouncementsPanel()
