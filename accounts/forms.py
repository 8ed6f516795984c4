from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _language_choices() -> list[tuple[str, str]]:
    # Each language in its own name, so that someone who picked the wrong one can still find theirs.
    return [(code, get_language_info(code)["name_local"].capitalize()) for code, _name in settings.LANGUAGES]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of your pages, notifications and e-mails"),
        choices=_language_choices,
        error_messages={"invalid_choice": _("“%(value)s” is not one of the languages offered.")},
    )
