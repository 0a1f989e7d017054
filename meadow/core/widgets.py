"""Form widgets shared by every app's forms."""

from __future__ import annotations

from django import forms


class FilePicker(forms.FileInput):
    """A real ``<input type=file>`` (keyboard, screen readers and forms work as ever) drawn as a button, with the
    chosen file's name and, for images, preview thumbnails — instead of the browser's raw "Choose File / No file
    chosen". The input keeps the field's own ``<label>``; meadow.js fills in the name and the previews."""

    template_name = "core/widgets/file_picker.html"
