from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PromptAnswer(models.TextChoices):
    PUT_AWAY = "put_away", _("Put the prompt away for the shift")
    DEBRIEF = "debrief", _("Asked for a debrief")


class ExposurePromptAnswer(models.Model):
    """What a person did with the prompt to take a break: put it away, or asked their supervisors for a debrief.

    Either keeps the prompt away for the rest of the shift (the organisation's shift length). The exposure figures
    themselves are never stored: they are counted from the contacts when a supervisor looks.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    answer = models.CharField(_("answer"), max_length=16, choices=PromptAnswer.choices)
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("answer to the exposure prompt")
        verbose_name_plural = _("answers to the exposure prompt")
        constraints = [
            models.CheckConstraint(condition=models.Q(answer__in=PromptAnswer.values), name="prompt_answer_valid"),
        ]
        indexes = [models.Index(fields=["user", "-at"], name="prompt_answer_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.answer} {self.at:%Y-%m-%d %H:%M}"
