"""The one exception type that means "the user asked for something we cannot do"."""


class DtError(Exception):
    """A user-facing error: the CLI prints its message as one line and exits with code 2."""


def error_text(exc: BaseException) -> str:
    """One line for an error shown to a user: a :class:`DtError`'s own message, anything else
    (a bug, a plugin's failure) prefixed with its type."""
    return str(exc) if isinstance(exc, DtError) else f"{type(exc).__name__}: {exc}"
