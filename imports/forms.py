from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from imports.models import ImportMode, TextIdentifiers
from imports.rows import MAX_BYTES
from imports.services import file_format


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File of cases (.csv or .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )
    mode = forms.ChoiceField(
        label=_("If some rows have problems"),
        choices=ImportMode.choices,
        initial=ImportMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )
    identifiers = forms.ChoiceField(
        label=_("If an incident description holds a phone number, e-mail address, link, handle or similar"),
        choices=TextIdentifiers.choices,
        initial=TextIdentifiers.REJECT,
        widget=forms.RadioSelect,
    )

    def clean_file(self) -> UploadedFile:
        upload: Any = self.cleaned_data["file"]
        if file_format(upload.name or "") is None:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file, made from the template."))
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB: split it.") % {"limit": MAX_BYTES // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload

    def content(self) -> bytes:
        upload = self.cleaned_data["file"]
        upload.seek(0)
        return b"".join(upload.chunks())
