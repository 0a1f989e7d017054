"""System notices written before codes carried their text in the writer's language (often English, with
internal rule ids). Give each one it can read back its code and parameters, so it is written in the reader's
language from now on: enforcement's notices from the violation or appeal they name, the others by matching the
text against the catalogue's messages in every shipped language. A notice that matches nothing keeps its text."""

from django.db import migrations


def _violation_params(violation, sanction):
    from meadow.enforcement.notices import violation_params

    return violation_params(violation=violation, sanction=sanction)


def forwards(apps, schema_editor):
    from meadow.enforcement import notices
    from meadow.notifications.messages import message_parse

    Notification = apps.get_model("notifications", "Notification")
    Violation = apps.get_model("enforcement", "Violation")
    Sanction = apps.get_model("enforcement", "Sanction")
    Appeal = apps.get_model("enforcement", "Appeal")
    rows = Notification.objects.filter(code="", kind__in=["system", "penalty", "order"]).exclude(text="")
    for row in rows.iterator(chunk_size=500):
        data = row.data or {}
        code, params = "", None
        if "appeal" in data:
            appeal = Appeal.objects.filter(pk=data["appeal"]).select_related("violation").first()
            if appeal is not None:
                code = notices.APPEAL_REJECTED
                params = {"category": appeal.violation.category, "response": appeal.response}
        elif "violation" in data and "sanction" in data:
            violation = Violation.objects.filter(pk=data["violation"]).first()
            if violation is not None:
                sanction = Sanction.objects.filter(pk=data["sanction"]).first() if data["sanction"] else None
                code, params = notices.VIOLATION_RECORDED, _violation_params(violation, sanction)
        elif "violation" in data:
            violation = Violation.objects.filter(pk=data["violation"]).first()
            if violation is not None:
                code, params = notices.VIOLATION_VOIDED, {"category": violation.category}
        else:
            found = message_parse(row.text)
            if found is not None:
                code, params = found
        if code:
            Notification.objects.filter(pk=row.pk).update(code=code, params=params or {}, text="")


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_notification_code_notification_params"),
        ("enforcement", "0002_moderator_group"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
