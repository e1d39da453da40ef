"""THG's error cases, each under the class the sync engine acts on."""

from connectors.errors import (
    AuthenticationError,
    ConflictError,
    NotActivatedError,
    PermanentError,
)


class RealmNotFound(AuthenticationError):
    """The token endpoint does not know the realm."""


class InvalidClient(AuthenticationError):
    """The client ID or the client secret is wrong."""


class ConnectionNotActive(NotActivatedError):
    """THG has not activated the connection yet (403 ConnectionNotActive)."""


class HistoryLimitExceeded(PermanentError):
    """``updated_from`` is more than 183 days back."""


class NotFound(PermanentError):
    """No such order, return or warehouse."""


class Conflict(ConflictError):
    """A dispatch or return reference was reused with different content."""


class ValidationFailed(PermanentError):
    """THG refused a field; ``pointer`` names it."""
