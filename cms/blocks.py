"""The StreamField blocks of the public site, in one module and reused by every page type.

Each block has its own template under `cms/blocks/` and a preview value, so Wagtail's block
picker shows what it looks like before an editor adds it.
"""

from django.utils.translation import gettext_lazy as _

from wagtail import blocks
from wagtail.contrib.table_block.blocks import TableBlock as WagtailTableBlock
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.images.blocks import ImageChooserBlock

RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "ol", "ul", "link", "document-link"]


class HeadingBlock(blocks.CharBlock):
    class Meta:
        template = "cms/blocks/heading.html"
        icon = "title"
        label = _("Heading")
        form_classname = "title"
        preview_value = _("Opening hours during the holidays")
        description = _("A section heading (level 2).")


class ParagraphBlock(blocks.RichTextBlock):
    def __init__(self, **kwargs):
        kwargs.setdefault("features", RICH_TEXT_FEATURES)
        super().__init__(**kwargs)

    class Meta:
        template = "cms/blocks/paragraph.html"
        icon = "pilcrow"
        label = _("Text")
        preview_value = (
            "<p>The district office is closed on public holidays. "
            "<b>Online services stay open.</b></p>"
        )
        description = _("Rich text: paragraphs, lists, links.")


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("Image"))
    alt_text = blocks.CharBlock(
        label=_("Alternative text"),
        max_length=250,
        required=False,
        help_text=_("What the image shows, for people who cannot see it. Empty: decorative."),
    )
    caption = blocks.CharBlock(label=_("Caption"), max_length=250, required=False)

    class Meta:
        template = "cms/blocks/image.html"
        icon = "image"
        label = _("Image")
        preview_value = {"alt_text": "", "caption": _("The new community hall")}
        description = _("An image with alternative text and an optional caption.")


class TableBlock(WagtailTableBlock):
    class Meta:
        template = "cms/blocks/table.html"
        icon = "table"
        label = _("Table")
        preview_value = {
            "first_row_is_table_header": True,
            "first_col_is_header": False,
            "data": [
                ["Day", "Hours"],
                ["Monday to Friday", "09:00-17:00"],
                ["Saturday", "09:00-12:00"],
            ],
        }
        description = _("A table with an optional header row.")


class DocumentBlock(blocks.StructBlock):
    document = DocumentChooserBlock(label=_("Document"))
    title = blocks.CharBlock(
        label=_("Link text"), max_length=200, required=False, help_text=_("Empty: the title.")
    )

    class Meta:
        template = "cms/blocks/document.html"
        icon = "doc-full"
        label = _("Document")
        preview_value = {"title": _("Application form (PDF)")}
        description = _("A link to download a document, with its type and size.")


class CalloutBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("Heading"), max_length=120)
    text = blocks.RichTextBlock(label=_("Text"), features=["bold", "italic", "link"])

    class Meta:
        template = "cms/blocks/callout.html"
        icon = "warning"
        label = _("Important information")
        preview_value = {
            "heading": _("Bring your identity card"),
            "text": "<p>Staff will check it at the counter.</p>",
        }
        description = _("A highlighted box for something a reader must not miss.")


class ContactBlock(blocks.StructBlock):
    name = blocks.CharBlock(label=_("Office"), max_length=120)
    address = blocks.CharBlock(label=_("Address"), max_length=200, required=False)
    phone = blocks.CharBlock(label=_("Phone"), max_length=30, required=False)
    email = blocks.EmailBlock(label=_("E-mail"), required=False)
    hours = blocks.CharBlock(label=_("Opening hours"), max_length=200, required=False)

    class Meta:
        template = "cms/blocks/contact.html"
        icon = "mail"
        label = _("Contact details")
        preview_value = {
            "name": "District Service Centre",
            "address": "G/F, 1 Civic Avenue",
            "phone": "2800 2000",
            "email": "enquiry@district.example",
            "hours": "Monday to Friday 09:00-17:00",
        }
        description = _("How to reach an office: address, phone, e-mail and hours.")


def body_blocks():
    """The blocks every page body offers (a new list each time: StreamField keeps its own)."""
    return [
        ("heading", HeadingBlock()),
        ("paragraph", ParagraphBlock()),
        ("image", ImageBlock()),
        ("table", TableBlock()),
        ("document", DocumentBlock()),
        ("callout", CalloutBlock()),
        ("contact", ContactBlock()),
    ]
