"""The classes every channel failure is sorted into.

The sync engine decides what to do from the class alone: retry a
:class:`RetryableError` with back-off, refresh credentials once on an
:class:`AuthenticationError` and then stop the connector, record a
:class:`PermanentError` against the one record it concerns and go on.
"""


class ChannelError(Exception):
    """A failed call to a channel.

    ``status`` is the HTTP status (None when no response arrived), ``code``
    the channel's error code, and ``detail`` the channel's own message.
    """

    def __init__(self, message: str, *, status=None, code="", detail="", pointer=""):
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.pointer = pointer


class RetryableError(ChannelError):
    """Worth trying again later: connection errors, timeouts, 5xx, 429."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuthenticationError(ChannelError):
    """The channel refused the credentials; a person must fix them."""


class NotActivatedError(AuthenticationError):
    """Valid credentials, but the channel has not activated the connection."""


class PermanentError(ChannelError):
    """The channel refused this one request; repeating it will not help."""


class ConflictError(PermanentError):
    """A reference was reused with different content."""
