# ruff: noqa: E501 (msgids are the packages' own strings, kept whole so makemessages matches them)
"""Our own translations of other packages' interface strings, where theirs are wrong.

Django looks in LOCALE_PATHS (our locale/) before any app's catalogue, so a string translated
here wins over allauth's or Django's. makemessages only keeps strings it finds in our code,
hence this module: each override is a call below, never run, which makemessages reads.

Why each group is here (docs/glossary.md has the terms):
- allauth's zh-Hant and zh-Hans catalogues name one thing several ways (two-factor
  authentication has four names, "Email地址", "authenticator 驗證器應用程式", 帳號 and 帳戶):
  every string that says e-mail, two-factor, authenticator, recovery codes or account uses
  the glossary's term instead.
- "Successfully signed in as %(name)s." read "成功以 陳大文..的身份登入" in zh-Hant.
- Django's zh-Hans catalogue lacks the new minimum-length password message, and Django then
  falls back to the default language: a zh-Hans sign-up showed a Traditional "密碼太短".

Translate the entries in locale/zh_Hant and locale/zh_Hans like any other; keep the msgid
exactly as the package writes it (the test in tests/test_script_consistency.py and the pages
show whether it took).
"""

from django.utils.translation import gettext_noop, ngettext_lazy

OVERRIDES = (
    gettext_noop("Successfully signed in as %(name)s."),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
    gettext_noop(
        '<strong>Note:</strong> you can still <a href="%(email_url)s">change your email address</a>.'
    ),
    gettext_noop("A new set of Two-Factor Authentication recovery codes has been generated."),
    gettext_noop("A new set of recovery codes has been generated."),
    gettext_noop("A third-party account from %(provider)s has been connected to your account."),
    gettext_noop(
        "A third-party account from %(provider)s has been disconnected from your account."
    ),
    gettext_noop("A user is already registered with this email address."),
    gettext_noop("Account Already Exists"),
    gettext_noop("Account Connections"),
    gettext_noop("Account Inactive"),
    gettext_noop("Accounts"),
    gettext_noop("Activate Authenticator App"),
    gettext_noop("Add Email"),
    gettext_noop("Add Email Address"),
    gettext_noop("Add a Third-Party Account"),
    gettext_noop("Already have an account? Then please %(link)ssign in%(end_link)s."),
    gettext_noop(
        "An account already exists with this email address. Please sign in to that account first, then connect your %s account."
    ),
    gettext_noop("An authenticator app is not active."),
    gettext_noop("An error occurred while attempting to login via your third-party account."),
    gettext_noop("Authentication using an authenticator app is active."),
    gettext_noop("Authenticator App"),
    gettext_noop("Authenticator App Activated"),
    gettext_noop("Authenticator App Deactivated"),
    gettext_noop("Authenticator app activated."),
    gettext_noop("Authenticator app deactivated."),
    gettext_noop("Authenticator code"),
    gettext_noop("Authenticator secret"),
    gettext_noop("Change Email"),
    gettext_noop("Confirm Email Address"),
    gettext_noop("Current email"),
    gettext_noop("Deactivate Authenticator App"),
    gettext_noop("Do you really want to remove the selected email address?"),
    gettext_noop("Email"),
    gettext_noop("Email (again)"),
    gettext_noop("Email (optional)"),
    gettext_noop("Email Address"),
    gettext_noop("Email Addresses"),
    gettext_noop("Email Changed"),
    gettext_noop("Email Confirmation"),
    gettext_noop("Email Removed"),
    gettext_noop("Email Verification"),
    gettext_noop("Email address"),
    gettext_noop("Email address %(deleted_email)s has been removed from your account."),
    gettext_noop("Email address confirmation"),
    gettext_noop("Email or phone"),
    gettext_noop("Enter Email Verification Code"),
    gettext_noop("Enter an authenticator code:"),
    gettext_noop("Failed to mark {email} as verified."),
    gettext_noop(
        "Forgotten your password? Enter your email address below, and we'll send you an email allowing you to reset it."
    ),
    gettext_noop("I have saved my recovery codes"),
    gettext_noop("If it was you, you can sign up for an account using the link below."),
    gettext_noop(
        "If you have not created an account yet, then please %(link)ssign up%(end_link)s first."
    ),
    gettext_noop(
        "In case the client does not specify any scope, these default scopes are used. Provide one value per line, e.g.: openid(ENTER)profile(ENTER)email(ENTER)"
    ),
    gettext_noop("Mark selected email addresses as verified"),
    gettext_noop("New Recovery Codes Generated"),
    gettext_noop("No recovery codes set up."),
    gettext_noop("Password Reset Email"),
    gettext_noop("Please Confirm Your Email Address"),
    gettext_noop(
        'Please confirm that <a href="mailto:%(email)s">%(email)s</a> is an email address for user %(user_display)s.'
    ),
    gettext_noop("Please reauthenticate to safeguard your account."),
    gettext_noop("Primary"),
    gettext_noop("Primary email address set."),
    gettext_noop("Re-send Verification"),
    gettext_noop("Recovery Codes"),
    gettext_noop("Recovery codes"),
    gettext_noop("Removed email address %(email)s."),
    gettext_noop("Social Accounts"),
    gettext_noop("TOTP Authenticator"),
    gettext_noop("The email address and/or password you specified are not correct."),
    gettext_noop("The email address is not assigned to any user account."),
    gettext_noop("The following email addresses are associated with your account:"),
    gettext_noop("The phone number is not assigned to any user account."),
    gettext_noop(
        "The scope(s) the client is allowed to request. Provide one value per line, e.g.: openid(ENTER)profile(ENTER)email(ENTER)"
    ),
    gettext_noop("The third-party account has been connected."),
    gettext_noop("The third-party account has been disconnected."),
    gettext_noop("The third-party account is already connected to a different account."),
    ngettext_lazy(
        "There is %(unused_count)s out of %(total_count)s recovery codes available.",
        "There are %(unused_count)s out of %(total_count)s recovery codes available.",
    ),
    gettext_noop("Third-Party Account Connected"),
    gettext_noop("Third-Party Account Disconnected"),
    gettext_noop("Third-Party Login Failure"),
    gettext_noop("This account is currently inactive."),
    gettext_noop("This account is inactive."),
    gettext_noop("This action will invalidate your existing codes."),
    gettext_noop("This email address is already associated with this account."),
    gettext_noop(
        'This email confirmation link expired or is invalid. Please <a href="%(email_url)s">issue a new email confirmation request</a>.'
    ),
    gettext_noop(
        "This part of the site requires us to verify that\nyou are who you claim to be. For this purpose, we require that you\nverify ownership of your email address. "
    ),
    gettext_noop(
        "To protect your account with two-factor authentication, scan the QR code below with your authenticator app. Then, input the verification code generated by the app below."
    ),
    gettext_noop("Two-Factor Authentication"),
    gettext_noop(
        "Unable to confirm %(email)s because it is already confirmed by a different account."
    ),
    gettext_noop("Unknown Account"),
    gettext_noop("Use a different email address"),
    gettext_noop("Use authenticator app or code"),
    gettext_noop("Username or email"),
    gettext_noop("Username, email or phone"),
    gettext_noop("Verify Your Email Address"),
    gettext_noop("View your email address"),
    gettext_noop(
        "We have sent an email to you for\nverification. Please click on the link inside that email. If you do not see the verification email in your main inbox, check your spam folder. Otherwise\ncontact us if you do not receive it within a few minutes."
    ),
    gettext_noop(
        "We have sent an email to you for verification. Follow the link provided to finalize the signup process. If you do not see the verification email in your main inbox, check your spam folder. Please contact us if you do not receive the verification email within a few minutes."
    ),
    gettext_noop(
        "We have sent you an email. If you have not received it please check your spam folder. Otherwise contact us if you do not receive it in a few minutes."
    ),
    gettext_noop("You are about to connect a new third-party account from %(provider)s."),
    gettext_noop(
        "You are about to deactivate authenticator app based authentication. Are you sure?"
    ),
    gettext_noop("You are about to generate a new set of recovery codes for your account."),
    gettext_noop("You are about to sign in using a third-party account from %(provider)s."),
    gettext_noop(
        "You are about to use your %(provider_name)s account to login to\n%(site_name)s. As a final step, please complete the following form:"
    ),
    gettext_noop(
        "You are receiving this email because you or someone else tried to signup for an\naccount using email address:\n\n%(email)s\n\nHowever, an account using that email address already exists.  In case you have\nforgotten about this, please use the password forgotten procedure to recover\nyour account:\n\n%(password_reset_url)s"
    ),
    gettext_noop(
        "You are receiving this email because you, or someone else, tried to access an account with email %(email)s. However, we do not have any record of such an account in our database."
    ),
    gettext_noop(
        "You are receiving this mail because the following change was made to your account:"
    ),
    gettext_noop(
        "You can sign in to your account using any of the following third-party accounts:"
    ),
    gettext_noop(
        "You can store this secret and use it to reinstall your authenticator app at a later time."
    ),
    gettext_noop(
        "You cannot activate two-factor authentication until you have verified your email address."
    ),
    gettext_noop(
        "You cannot add an email address to an account protected by two-factor authentication."
    ),
    gettext_noop("You cannot add more than %d email addresses."),
    gettext_noop("You cannot deactivate two-factor authentication."),
    gettext_noop("You cannot disconnect your last remaining third-party account."),
    gettext_noop(
        "You cannot generate recovery codes without having two-factor authentication enabled."
    ),
    gettext_noop("You cannot remove your primary email address (%(email)s)."),
    gettext_noop("You cannot remove your primary email address."),
    gettext_noop(
        "You currently do not have any email address set up. You should really add an email address so you can receive notifications, reset your password, etc."
    ),
    gettext_noop("You currently have no third-party accounts connected to this account."),
    gettext_noop(
        'You decided to cancel logging in to our site using one of your existing accounts. If this was a mistake, please proceed to <a href="%(login_url)s">sign in</a>.'
    ),
    gettext_noop("You have confirmed %(email)s."),
    gettext_noop("You must type the same email each time."),
    gettext_noop(
        "You're receiving this email because user %(user_display)s has given your email address to register an account on %(site_domain)s."
    ),
    gettext_noop(
        "You're receiving this email because you or someone else has requested a password reset for your user account.\nIt can be safely ignored if you did not request a password reset. Click the link below to reset your password."
    ),
    gettext_noop("Your account has no password set up."),
    gettext_noop("Your account has no verified email address."),
    gettext_noop(
        "Your account is protected by two-factor authentication. Please enter an authenticator code:"
    ),
    gettext_noop("Your email address is still pending verification."),
    gettext_noop("Your email has been changed from %(from_email)s to %(to_email)s."),
    gettext_noop("Your email has been confirmed."),
    gettext_noop(
        "Your email verification code is listed below. Please enter it in your open browser window."
    ),
    gettext_noop("Your primary email address must be verified."),
    gettext_noop("email address"),
    gettext_noop("email addresses"),
    gettext_noop("email confirmation"),
    gettext_noop("email confirmations"),
    gettext_noop("social account"),
    gettext_noop("social accounts"),
)
