"""A logging filter that keeps secrets out of every log line.

Each secret in use registers itself with :func:`register_secret` (the client
does this when it loads credentials or receives a token); the filter replaces
any registered value, and any ``access_token``/``client_secret``/``app_secret``
query or form parameter, before the record is formatted.
"""

import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()

_PARAMETER_PATTERN = re.compile(
    r"(?i)(access_token|refresh_token|client_secret|app_secret|password|sign"
    r"|x-tts-access-token|authorization)([=:]\s*\"?)(?:Bearer\s+|Basic\s+)?"
    r"[^&\s\"',}]+"
)
MINIMUM_SECRET_LENGTH = 6


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that the filter masks it wherever it appears."""
    if value and len(value) >= MINIMUM_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Replace every registered secret and secret-looking parameter."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return _PARAMETER_PATTERN.sub(r"\1\2[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, redacted, and drop the exception
            # so the formatter does not render it again unredacted.
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        return True
