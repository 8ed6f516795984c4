"""Moments for the report tests, in the deployment's time zone, in which reports count their months."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings


def local(month: date, day: int = 1, hour: int = 12, minute: int = 0) -> datetime:
    """That day of the month, at that local time."""
    return datetime(month.year, month.month, day, hour, minute, tzinfo=ZoneInfo(settings.TIME_ZONE))
