"""Field rules for accounts, each with a clear, translated error."""

from __future__ import annotations

import phonenumbers
import regex
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext as _

from meadow.accounts.models import BIO_MAX, DISPLAY_NAME_MAX, HANDLE_MAX
from meadow.core.errors import ValidationFailed
from meadow.core.schema import END_OF_TEXT
from meadow.core.text import refuse_spoofing, visible_length

HANDLE_MIN = 3
# A handle: HANDLE_MIN–HANDLE_MAX letters a–z, digits, dots and underscores, starting with a letter or digit and
# not ending with a dot. The API's schema states it as HANDLE_INPUT_PATTERN: what a client may send, before
# clean_handle() strips the spaces and leading "@" and lower-cases it.
_HANDLE_LENGTHS = f"{{{HANDLE_MIN - 2},{HANDLE_MAX - 2}}}"
_HANDLE = regex.compile(rf"^[a-z0-9][a-z0-9_.]{_HANDLE_LENGTHS}[a-z0-9_]$")
RESERVED_HANDLES = frozenset(
    """admin administrator api static media accounts account me settings search store shop messages message
    notifications discover following nearby explore login logout signup register meadow support help staff
    moderator moderation root system official null undefined www about terms privacy i18n""".split()
)


def _any_case(word: str) -> str:
    """``word`` in any letter case, for a pattern without flags (ECMA 262 has no inline ``(?i)``)."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in word)


# A reserved handle is refused (400 ``handle_taken``) however it is typed: the negative lookahead states it.
_NOT_RESERVED = rf"(?!\s*@*(?:{'|'.join(_any_case(h) for h in sorted(RESERVED_HANDLES))})\s*$)"
HANDLE_INPUT_PATTERN = rf"^{_NOT_RESERVED}\s*@*[A-Za-z0-9][A-Za-z0-9_.]{_HANDLE_LENGTHS}[A-Za-z0-9_]\s*$"


def clean_handle(value: str) -> str:
    handle = (value or "").strip().lstrip("@").lower()
    if not handle:
        raise ValidationFailed(_("Choose a handle."), field="handle", code="required")
    # Checked first: its own, clearer message. The limit holds for what was typed too (spaces and "@" included),
    # as the API's schema states it (maxLength).
    if not HANDLE_MIN <= len(handle) <= HANDLE_MAX or len(value or "") > HANDLE_MAX:
        raise ValidationFailed(
            _("A handle has %(min)d to %(max)d characters.") % {"min": HANDLE_MIN, "max": HANDLE_MAX},
            field="handle",
            code="bad_handle",
        )
    if not _HANDLE.match(handle):
        raise ValidationFailed(
            _(
                "A handle may use letters a–z, digits, dots and underscores, and starts with a letter or digit."
            ),
            field="handle",
            code="bad_handle",
        )
    if handle in RESERVED_HANDLES:
        raise ValidationFailed(_("This handle is reserved."), field="handle", code="handle_taken")
    return handle


def password_min_length() -> int:
    """The shortest password Django's MinimumLengthValidator (settings.AUTH_PASSWORD_VALIDATORS) accepts: the API's
    schema states it (one source), the validators check it."""
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            return validator.min_length
    return 0


# A Malaysian mobile number, as a person types it: +60, 60 or 0, then the number, with a space or a hyphen where
# people put them, and spaces around. The API's schema states this same pattern for every phone field, and the
# server takes exactly what it matches: each prefix here is one ``phonenumbers`` holds valid for a mobile in
# Malaysia, with the number of digits it has (011: 8 after the prefix, the others 7).
PHONE_PATTERN = (
    r"^ *(?:\+?60|0)[ -]?"
    r"(?:1[269][ -]?[0-9]{3}|1[37][ -]?[1-9][0-9]{2}|14[ -]?[235-9][0-9]{2}|10[ -]?[23568][0-9]{2}"
    r"|18[ -]?[236][0-9]{2}|11[ -]?[1-5][0-9]{3})[ -]?[0-9]{4} *" + END_OF_TEXT
)
PHONE_MAX = 32  # characters: the pattern's longest match is shorter
_PHONE = regex.compile(PHONE_PATTERN)


def normalize_phone_or_none(value: object, *, strict: bool = True) -> str | None:
    """``value`` in E.164 if it is a number PHONE_PATTERN matches (and ``phonenumbers`` holds valid), else None.

    ``strict=False`` is for reading a login, not for storing a number: any spelling ``phonenumbers`` reads as a
    valid number of the account's (brackets, full-width digits…), so every spelling names the same account."""
    if not isinstance(value, str) or (strict and not _PHONE.fullmatch(value)):
        return None
    try:
        number = phonenumbers.parse(value.strip(), settings.MEADOW_PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_phone(value: str) -> str:
    phone = normalize_phone_or_none(value)
    if phone is None:
        raise ValidationFailed(
            _("Enter a valid mobile number, e.g. +60 12-345 6789."), field="phone", code="bad_phone"
        )
    return phone


def clean_display_name(value: str) -> str:
    name = refuse_spoofing(" ".join((value or "").split()), field="display_name")
    if not name:
        raise ValidationFailed(_("Your name cannot be empty."), field="display_name", code="required")
    if visible_length(name) > DISPLAY_NAME_MAX:
        raise ValidationFailed(
            _("Your name can have at most %(max)d characters.") % {"max": DISPLAY_NAME_MAX},
            field="display_name",
            code="too_long",
        )
    return name


def clean_bio(value: str) -> str:
    bio = (value or "").strip()
    length = visible_length(bio)
    if length > BIO_MAX:
        raise ValidationFailed(
            _("Your bio can have at most %(max)d characters (it has %(count)d).")
            % {"max": BIO_MAX, "count": length},
            field="bio",
            code="too_long",
        )
    return bio
