# ruff: noqa: E501  (demo prose in three languages reads better unwrapped)
"""Demo content for the public site, in zh-Hant, zh-Hans and en: the announcement list with a
few announcements (district-wide and urgent, for a community, for one street), a service guide,
a clinic page, and the contact page, privacy notice, accessibility statement and cookie notice
that the footer links on every page. Loaded by `manage.py load_demo` (idempotent).

The Simplified Chinese text is converted from the Traditional with OpenCC (Hong Kong to
Simplified, then the glossary's few different terms), so the two cannot drift apart.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from wagtail.models import Locale, Site
from wagtail.rich_text import RichText

from opencc import OpenCC

from portal.accounts.models import Community, Street

from .models import (
    AnnouncementCategory,
    AnnouncementIndexPage,
    AnnouncementPage,
    ClinicPage,
    HomePage,
    ServiceGuidePage,
    StandardPage,
)

_converter = OpenCC("hk2s")
GLOSSARY_HANS = {"电邮": "电子邮件", "入门网站": "门户网站"}


def hans(text):
    text = _converter.convert(text)
    for wrong, right in GLOSSARY_HANS.items():
        text = text.replace(wrong, right)
    return text


def three(hant, en):
    """{language: text} from the Traditional Chinese and the English."""
    return {"zh-hant": hant, "zh-hans": hans(hant), "en": en}


CATEGORIES = [
    ("roadworks", ("道路工程", "Road works")),
    ("health", ("健康", "Health")),
    ("community", ("社區活動", "Community events")),
    ("services", ("服務安排", "Service arrangements")),
]


def paragraphs(*texts):
    return [("paragraph", RichText("".join(f"<p>{t}</p>" for t in texts)))]


def body_in(language, parts):
    """A StreamField value from [(block type, {language: value})]."""
    blocks = []
    for block_type, value in parts:
        text = value[language] if isinstance(value, dict) else value
        if block_type == "paragraph":
            blocks.append(("paragraph", RichText(text)))
        else:
            blocks.append((block_type, text))
    return blocks


def p(hant, en):
    return ("paragraph", three(f"<p>{hant}</p>", f"<p>{en}</p>"))


def h(hant, en):
    return ("heading", three(hant, en))


def ul(items):
    hant = "<ul>" + "".join(f"<li>{a}</li>" for a, _b in items) + "</ul>"
    en = "<ul>" + "".join(f"<li>{b}</li>" for _a, b in items) + "</ul>"
    return ("paragraph", three(hant, en))


STANDARD_PAGES = [
    {
        "slug": "contact",
        "footer_order": 1,
        "title": three("聯絡我們", "Contact us"),
        "intro": three(
            "<p>有問題？你可以致電、發電郵或親臨區服務中心。</p>",
            "<p>Questions? Call, send an e-mail or visit the District Service Centre.</p>",
        ),
        "body": [
            (
                "contact",
                {
                    "zh-hant": {
                        "name": "區服務中心",
                        "address": "政府大道1號地下",
                        "phone": "2800 2000",
                        "email": "enquiry@district.example",
                        "hours": "星期一至五 09:00–17:00",
                    },
                    "zh-hans": {
                        "name": hans("區服務中心"),
                        "address": hans("政府大道1號地下"),
                        "phone": "2800 2000",
                        "email": "enquiry@district.example",
                        "hours": hans("星期一至五 09:00–17:00"),
                    },
                    "en": {
                        "name": "District Service Centre",
                        "address": "G/F, 1 Civic Avenue",
                        "phone": "2800 2000",
                        "email": "enquiry@district.example",
                        "hours": "Monday to Friday 09:00–17:00",
                    },
                },
            ),
            p(
                "查詢申請進度，請先登入「我的頁面」：每宗個案都有參考編號及預計完成日期。",
                "To follow an application, sign in to My page: every case shows its reference "
                "and the date it is due.",
            ),
        ],
    },
    {
        "slug": "privacy",
        "footer_order": 2,
        "title": three("私隱聲明", "Privacy notice"),
        "intro": three(
            "<p>本聲明說明地區入門網站收集哪些個人資料、用途、保存期限，以及你的權利。</p>",
            "<p>What personal data the District Portal collects, why, for how long, and your "
            "rights.</p>",
        ),
        "body": [
            h("我們收集的資料", "What we collect"),
            ul(
                [
                    (
                        "帳戶：電郵地址、顯示名稱、電話及所住街道。",
                        "Your account: e-mail address, display name, phone and street.",
                    ),
                    (
                        "你提交的申請及上載的文件。",
                        "The applications you submit and the documents you upload.",
                    ),
                    (
                        "健康紀錄及診所預約（只限你本人及獲授權的診所職員查閱）。",
                        "Health records and clinic bookings (seen only by you and authorised clinic staff).",
                    ),
                ]
            ),
            h("用途", "Why"),
            p(
                "只用於提供你所要求的服務、通知你進度，以及按法例保存紀錄。我們不會出售或作推廣用途。",
                "Only to provide the services you ask for, to tell you about their progress and "
                "to keep the records the law requires. We never sell data or use it for "
                "marketing.",
            ),
            h("你的權利", "Your rights"),
            p(
                "你可以在「帳戶設定」下載你的全部資料，或關閉帳戶。如有查詢，請電郵 privacy@district.example。",
                "You can download all your data or close your account in account settings. "
                "Questions: privacy@district.example.",
            ),
        ],
    },
    {
        "slug": "accessibility",
        "footer_order": 3,
        "title": three("無障礙聲明", "Accessibility statement"),
        "intro": three(
            "<p>我們希望每位居民都能使用本網站。本網站以符合《網頁內容無障礙指引》(WCAG) 2.2 AA 級為目標。</p>",
            "<p>We want every resident to be able to use this site. It aims to meet the Web "
            "Content Accessibility Guidelines (WCAG) 2.2 at level AA.</p>",
        ),
        "body": [
            h("我們如何測試", "How we tested"),
            ul(
                [
                    (
                        "每次更改都以 axe-core 自動檢查公開頁面及居民頁面（繁體中文、簡體中文及英文）。",
                        "Every change runs automated axe-core checks on the public and residents' pages, in Traditional Chinese, Simplified Chinese and English.",
                    ),
                    (
                        "以鍵盤完成主要流程，不使用滑鼠。",
                        "We complete the main journeys with the keyboard alone.",
                    ),
                    (
                        "在 360 像素闊的手機畫面檢查，不需要左右捲動。",
                        "We check every page on a 360-pixel-wide phone screen, without sideways scrolling.",
                    ),
                ]
            ),
            h("已知的不足", "Known gaps"),
            ul(
                [
                    (
                        "編輯上載的 PDF 附件未必可供屏幕閱讀器使用；如有需要，我們會提供其他格式。",
                        "PDF attachments uploaded by editors may not work with screen readers; we will send another format on request.",
                    ),
                    (
                        "我們尚未以屏幕閱讀器進行完整的人手測試。",
                        "We have not yet completed manual testing with screen readers.",
                    ),
                    (
                        "健康紀錄的趨勢圖以表格提供同一資料，但圖表本身未必可供所有人閱讀。",
                        "Health record trend charts give the same figures as a table, but the charts themselves may not be readable by everyone.",
                    ),
                ]
            ),
            h("報告問題", "Report a problem"),
            p(
                "如你無法使用本網站某部分，請電郵 accessibility@district.example 或致電 2800 2000，說明頁面及遇到的問題。我們會在五個工作天內回覆。",
                "If you cannot use part of this site, e-mail accessibility@district.example or "
                "call 2800 2000, saying which page and what went wrong. We reply within five "
                "working days.",
            ),
        ],
    },
    {
        "slug": "cookies",
        "footer_order": 4,
        "title": three("Cookie 聲明", "Cookie notice"),
        "intro": three(
            "<p>本網站只使用運作所需的 Cookie，不使用追蹤或廣告 Cookie。</p>",
            "<p>This site uses only the cookies it needs to work: no tracking or advertising "
            "cookies.</p>",
        ),
        "body": [
            (
                "table",
                {
                    lang: {
                        "first_row_is_table_header": True,
                        "first_col_is_header": True,
                        "data": rows,
                    }
                    for lang, rows in {
                        "zh-hant": [
                            ["名稱", "用途", "保存期限"],
                            ["sessionid", "保持你的登入狀態", "8 小時"],
                            ["csrftoken", "防止他人冒你之名提交表格", "1 年"],
                            ["portal_language", "記住你選擇的語言", "1 年"],
                        ],
                        "zh-hans": [
                            ["名称", "用途", "保存期限"],
                            ["sessionid", "保持你的登录状态", "8 小时"],
                            ["csrftoken", "防止他人冒你之名提交表格", "1 年"],
                            ["portal_language", "记住你选择的语言", "1 年"],
                        ],
                        "en": [
                            ["Name", "Purpose", "Kept for"],
                            ["sessionid", "Keeps you signed in", "8 hours"],
                            ["csrftoken", "Stops others sending forms in your name", "1 year"],
                            ["portal_language", "Remembers the language you chose", "1 year"],
                        ],
                    }.items()
                },
            ),
        ],
    },
]

ANNOUNCEMENTS = [
    {
        "slug": "water-supply-interruption",
        "category": "services",
        "urgent": True,
        "target": AnnouncementPage.Target.DISTRICT,
        "title": three("全區暫停供水通知", "Water supply interruption in the whole district"),
        "summary": three(
            "本星期六 01:00 至 05:00 全區暫停供水，請預先儲水。",
            "The water supply stops in the whole district this Saturday from 01:00 to 05:00. "
            "Please store water beforehand.",
        ),
        "body": [
            p(
                "水務署更換主水管期間，全區暫停供水。長者及行動不便人士如需協助，請致電 2800 2000。",
                "The supply stops while the water department replaces a main. Older people and "
                "people with limited mobility who need help can call 2800 2000.",
            )
        ],
    },
    {
        "slug": "harbour-community-health-day",
        "category": "health",
        "urgent": False,
        "target": AnnouncementPage.Target.COMMUNITIES,
        "communities": ["harbour"],
        "title": three("海濱社區健康日", "Harbour community health day"),
        "summary": three(
            "免費量血壓及血糖，長者卡持有人可即場登記流感疫苗接種。",
            "Free blood pressure and glucose checks; holders of the Elderly Card can sign up "
            "for a flu vaccination on the spot.",
        ),
        "body": [
            p(
                "地點：海濱社區會堂。時間：星期日 10:00 至 16:00。",
                "Where: Harbour community hall. When: Sunday 10:00 to 16:00.",
            )
        ],
    },
    {
        "slug": "praya-road-resurfacing",
        "category": "roadworks",
        "urgent": False,
        "target": AnnouncementPage.Target.STREETS,
        "streets": ["Praya Road"],
        "title": three("海旁道路面重鋪工程", "Praya Road resurfacing"),
        "summary": three(
            "海旁道下星期一至三晚上封閉一條行車線。",
            "One lane of Praya Road closes in the evenings from Monday to Wednesday next week.",
        ),
        "body": [
            p(
                "工程期間巴士站暫時遷往碼頭街。請留意現場指示。",
                "Bus stops move to Pier Street while the works last. Please follow the signs.",
            )
        ],
    },
]


def publish(page):
    page.save_revision().publish()


def set_fields(page, language, spec, extra_fields):
    page.title = spec["title"][language]
    page.draft_title = page.title
    for name in extra_fields:
        value = spec[name]
        setattr(page, name, value[language] if isinstance(value, dict) else value)
    if "body" in spec:
        page.body = body_in(language, spec["body"])


def upsert(parent, model, spec, extra_fields=(), prepare=None):
    """The page in zh-Hant under `parent` (created or updated), then its zh-Hans and en
    translations, all published."""
    page = model.objects.child_of(parent).filter(slug=spec["slug"]).first()
    if page is None:
        page = model(slug=spec["slug"])
        set_fields(page, "zh-hant", spec, extra_fields)
        if prepare:
            prepare(page)
        parent.add_child(instance=page)
    else:
        set_fields(page, "zh-hant", spec, extra_fields)
        if prepare:
            prepare(page)
    publish(page)
    for code in ("zh-hans", "en"):
        locale = Locale.objects.get(language_code=code)
        translation = page.get_translation_or_none(locale)
        if translation is None:
            translation = page.copy_for_translation(locale)
        translation = translation.specific
        set_fields(translation, code, spec, extra_fields)
        if prepare:
            prepare(translation)
        publish(translation)
    return page


@transaction.atomic
def load(stdout=None):
    home = Site.objects.get(is_default_site=True).root_page.specific
    assert isinstance(home, HomePage)
    for slug, (hant, en) in CATEGORIES:
        AnnouncementCategory.objects.update_or_create(
            slug=slug, defaults={"name_zh_hant": hant, "name_zh_hans": hans(hant), "name_en": en}
        )
    for spec in STANDARD_PAGES:
        spec = {**spec, "show_in_footer": True}
        upsert(home, StandardPage, spec, ["intro", "show_in_footer", "footer_order"])

    index = upsert(
        home,
        AnnouncementIndexPage,
        {
            "slug": "announcements",
            "title": three("最新公告", "Announcements"),
            "intro": three(
                "<p>區內的最新消息及通告。</p>", "<p>News and notices from the district.</p>"
            ),
        },
        ["intro"],
    )
    communities = {c.code: c for c in Community.objects.all()}
    streets = {s.name_en: s for s in Street.objects.all()}
    now = timezone.now()
    for number, spec in enumerate(ANNOUNCEMENTS):
        category = AnnouncementCategory.objects.get(slug=spec["category"])

        def prepare(page, spec=spec, category=category, number=number):
            page.category = category
            page.urgent = spec["urgent"]
            page.target = spec["target"]
            page.communities = [communities[c] for c in spec.get("communities", [])]
            page.streets = [streets[s] for s in spec.get("streets", [])]
            page.expire_at = now + datetime.timedelta(days=30 + number)

        upsert(index, AnnouncementPage, spec, ["summary"], prepare=prepare)

    from portal.cases.models import Service

    service = Service.objects.filter(code="proof-of-residence").first()
    if service is not None:
        upsert(
            home,
            ServiceGuidePage,
            {
                "slug": "proof-of-residence",
                "title": three("申請住址證明書", "Getting a proof of residence letter"),
                "intro": three(
                    "<p>學校、銀行及其他機構可能要求你證明住在本區。</p>",
                    "<p>Schools, banks and others may ask you to prove that you live in the "
                    "district.</p>",
                ),
            },
            ["intro"],
            prepare=lambda page: setattr(page, "service", service),
        )
    from health.booking.models import Clinic

    clinic = Clinic.objects.order_by("code").first()
    if clinic is not None:
        upsert(
            home,
            ClinicPage,
            {
                "slug": f"clinic-{clinic.code}",
                "title": {
                    "zh-hant": clinic.name_zh_hant,
                    "zh-hans": clinic.name_zh_hans,
                    "en": clinic.name_en,
                },
                "intro": three(
                    "<p>本診所提供疫苗接種及一般健康檢查，可網上預約。</p>",
                    "<p>This clinic offers vaccinations and check-ups, bookable online.</p>",
                ),
            },
            ["intro"],
            prepare=lambda page: setattr(page, "clinic", clinic),
        )
    if stdout is not None:
        stdout.write("Site content: announcements, guides and notices in three languages.")
