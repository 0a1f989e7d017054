"""System notices as codes and parameters, written in the reader's language when they are read.

A notice is stored as ``Notification.code`` (``order.paid``) and ``Notification.params`` (``{"id": 2}``) — never
as text in the writer's language — so a person who switches to 中文 or Bahasa Melayu reads every notice, old
ones too, in that language. The apps above (orders, business, privacy) name a code from this catalogue;
enforcement's notices are described by enforcement (:mod:`meadow.enforcement.notices`).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

from meadow.enforcement import notices as enforcement_notices

# code → the msgid, translated when read (msgids shared with the apps that used to write the text, so every translation carries over)
CATALOGUE: dict[str, str] = {
    "order.cancelled": _("Order #%(id)d was cancelled."),
    "order.shipped": _("Order #%(id)d has shipped with %(carrier)s, tracking number %(tracking)s."),
    "order.delivered": _("Order #%(id)d was delivered."),
    "order.completed": _("The buyer confirmed receipt of order #%(id)d."),
    "order.refund_requested": _("The buyer asked for a refund of order #%(id)d."),
    "order.refund_approved": _("Your refund for order #%(id)d was approved."),
    "order.refund_declined": _("Your refund request for order #%(id)d was declined: %(reason)s"),
    "order.payment_failed": _("The payment for order #%(id)d failed; the order was cancelled."),
    "order.payment_failed_retry": _(
        "The payment for order #%(id)d did not go through; nothing was charged. Try again by %(due)s (UTC)."
    ),
    "order.payment_failed_closed": _(
        "The payment for order #%(id)d did not go through; nothing was charged."
    ),
    "order.paid": _("Order #%(id)d is paid."),
    "order.paid_seller": _("New order #%(id)d is paid and waiting to be shipped."),
    "order.paid_twice": _(
        "Order #%(id)d was already paid; the second payment of RM %(amount)s is refunded in full."
    ),
    "order.paid_late": _(
        "Order #%(id)d was no longer open when your payment arrived; it is refunded in full."
    ),
    "business.verified": _(
        "Your business %(company)s is verified: the blue tick shows beside your name and you can open your shop."
    ),
    "business.rejected": _("Your verification application was not approved: %(reason)s"),
    "business.more_info": _("We need more information for your verification: %(reason)s"),
    "business.revoked": _("Your business verification was revoked: %(reason)s"),
    "privacy.export_ready": _("Your data is ready to download until %(date)s."),
    "privacy.deletion_scheduled": _(
        "Your account will be deleted on %(date)s. Log in before then to cancel."
    ),
    "privacy.deletion_cancelled_login": _("You logged in, so your account will not be deleted."),
    "privacy.deletion_cancelled": _("Your account will not be deleted."),
}


def message_known(code: str) -> bool:
    return code in CATALOGUE or code in enforcement_notices.CODES


def message_text(code: str, params: dict[str, Any] | None) -> str | None:
    """The notice in the active language, or ``None`` for an unknown code (or parameters that do not fit)."""
    params = params or {}
    if code in enforcement_notices.CODES:
        return enforcement_notices.notice_text(code, params)
    message = CATALOGUE.get(code)
    if message is None:
        return None
    try:
        return gettext(message) % params
    except (KeyError, TypeError, ValueError):
        return None


# --- reading back notices stored as text (the data migration of rows written before codes) -----------------------
_FIELD = re.compile(r"%\((\w+)\)([ds])")


def _pattern(template: str) -> re.Pattern[str]:
    out, at = [], 0
    for m in _FIELD.finditer(template):
        out.append(re.escape(template[at : m.start()]))
        out.append(rf"(?P<{m.group(1)}>\d+)" if m.group(2) == "d" else rf"(?P<{m.group(1)}>.+?)")
        at = m.end()
    out.append(re.escape(template[at:]))
    return re.compile("^" + "".join(out) + "$", re.S)


def message_parse(
    text: str, *, languages: tuple[str, ...] = ("en", "zh-hans", "ms")
) -> tuple[str, dict] | None:
    """``(code, params)`` of a notice written as text in any shipped language, or ``None``."""
    text = (text or "").strip()
    for language in languages:
        with translation.override(language):
            for code, message in CATALOGUE.items():
                found = _pattern(gettext(message)).match(text)
                if found:
                    params: dict[str, Any] = {
                        k: int(v) if f"%({k})d" in message else v for k, v in found.groupdict().items()
                    }
                    return code, params
    return None
