from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from allauth.account.adapter import DefaultAccountAdapter

from .client_ip import client_ip
from .roles import is_staff_member

# Column sizes in the database; longer input must be a form error, never a database error.
EMAIL_MAX_LENGTH = 254
# Hashing is deliberately slow: cap what a request can make us hash.
PASSWORD_MAX_LENGTH = 256


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email):
        if len(email) > EMAIL_MAX_LENGTH:
            raise ValidationError(
                _("Enter an e-mail address of at most %(limit)d characters.")
                % {"limit": EMAIL_MAX_LENGTH}
            )
        return super().clean_email(email)

    def clean_password(self, password, user=None):
        if len(password) > PASSWORD_MAX_LENGTH:
            raise ValidationError(
                _("Enter a password of at most %(limit)d characters.")
                % {"limit": PASSWORD_MAX_LENGTH}
            )
        return super().clean_password(password, user=user)

    def get_client_ip(self, request):
        """The address sign-in rate limits count by: the client's, not the proxy's."""
        return client_ip(request)

    def get_login_redirect_url(self, request):
        """Staff land in the back office, residents on My page; a `next` parameter still wins
        (allauth follows it before asking here)."""
        if is_staff_member(request.user):
            return reverse("wagtailadmin_home")
        return super().get_login_redirect_url(request)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # A new resident keeps the language they signed up in.
            language = translation.get_language()
            profile = user.profile
            if language and profile.preferred_language != language:
                profile.preferred_language = language
                profile.save(update_fields=["preferred_language", "updated_at"])
        return user
