"""The one way an export archive leaves the server: streamed, private, never sniffed or cached."""

from __future__ import annotations

from django.http import FileResponse

from meadow.privacy.models import DataExport


def download_response(export: DataExport) -> FileResponse:
    response = FileResponse(
        export.file.open("rb"),
        content_type="application/zip",
        as_attachment=True,
        filename=f"meadow-data-{export.created_at:%Y%m%d}-{export.pk}.zip",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
