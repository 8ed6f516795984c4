from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from cases.drafted import CASE_NEW, CASE_NOTE
        from drafts.registry import register

        register(CASE_NEW)
        register(CASE_NOTE)
