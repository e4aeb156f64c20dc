"""Typed errors shared by every layer; the API maps them to HTTP status codes in one table (STATUS)."""


class DockyardError(Exception):
    """Base class. `str(err)` is the message a user sees."""


class NotFound(DockyardError):
    pass


class Conflict(DockyardError):
    pass


class InvalidParameter(DockyardError):
    pass


class Unauthorized(DockyardError):
    pass


class Forbidden(DockyardError):
    pass


class NotModified(DockyardError):
    pass


class Unavailable(DockyardError):
    pass


class TooLarge(DockyardError):
    """A request body over a limit (HTTP 413)."""


class SystemError_(DockyardError):
    """A daemon-side failure (HTTP 500)."""


class NotImplemented_(DockyardError):
    """Something this configuration cannot do (HTTP 501), e.g. reading logs of a `none` log driver."""


STATUS = {
    NotModified: 304,
    InvalidParameter: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    SystemError_: 500,
    NotImplemented_: 501,
    Unavailable: 503,
}


def http_status(err: BaseException) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500
