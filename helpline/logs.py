"""Log records as JSON lines (production) or text (development), each with its request id, never with what a user
typed.

The request id comes from django-guid: taken from a valid ``X-Request-ID`` header (a proxy's) or made up, returned
in the response, and carried into the Celery tasks the request starts, whose records carry it too.

What a user typed must not reach a log, where it would outlive retention and the audit trail's access rules. Two
rules keep it out, whatever the code that logs:

- a JSON record has these fields alone: time, level, logger, message, request_id, exception. Extra data that a
  library hands its logger (Celery passes a task's arguments) is left out;
- an exception is logged by its type and where it was raised, never by its message: PostgreSQL puts a failing row
  in its DETAIL, a ValueError the value it refused. The same holds for an exception quoted in Celery's message of
  a failed task.
"""

import json
import logging
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def exception_without_message(exc_info: ExcInfo) -> str:
    """The traceback's frames (file, line, function) and the exception's type, for the exception and its causes."""
    exception: BaseException | None = exc_info[1]
    parts: list[str] = []
    while exception is not None:
        frames = traceback.extract_tb(exception.__traceback__)
        lines = [f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}' for frame in frames]
        kind = type(exception)
        parts.insert(
            0, "\n".join(["Traceback (most recent call last):", *lines, f"{kind.__module__}.{kind.__qualname__}"])
        )
        exception = exception.__cause__ or exception.__context__
    return "\n\nwhich led to:\n\n".join(parts) + "\n(messages are not logged)"


class QuietExceptions(logging.Filter):
    """Celery's record of a failed task quotes the exception (``exc``) in its message: only its type is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict) and isinstance(record.args.get("exc"), str) and record.exc_info:
            record.args = {**record.args, "exc": type(record.exc_info[1]).__qualname__}
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")

    def formatException(self, ei: Any) -> str:
        return exception_without_message(ei)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "correlation_id", None),
        }
        if record.exc_info:
            entry["exception"] = exception_without_message(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(entry, ensure_ascii=False)
