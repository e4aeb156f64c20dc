"""Registry error bodies (`{"errors":[{"code","message","detail"}]}`) turned into dockyard's typed errors.

The message reads like distribution's errcode.Error, `<code in words>: <message>` (`manifest unknown:
manifest unknown`), which is what docker prints after its own prefix.
"""
from __future__ import annotations

import json

from ...errors import (DockyardError, Forbidden, InvalidParameter, NotFound, SystemError_, Unauthorized,
                       Unavailable)

_BY_CODE = {
    "BLOB_UNKNOWN": NotFound, "MANIFEST_UNKNOWN": NotFound, "NAME_UNKNOWN": NotFound,
    "BLOB_UPLOAD_UNKNOWN": NotFound,
    "UNAUTHORIZED": Unauthorized, "DENIED": Forbidden,
    "DIGEST_INVALID": InvalidParameter, "MANIFEST_INVALID": InvalidParameter, "NAME_INVALID": InvalidParameter,
    "TAG_INVALID": InvalidParameter, "SIZE_INVALID": InvalidParameter, "MANIFEST_BLOB_UNKNOWN": InvalidParameter,
    "BLOB_UPLOAD_INVALID": InvalidParameter, "MANIFEST_UNVERIFIED": InvalidParameter,
    "UNSUPPORTED": InvalidParameter, "TOOMANYREQUESTS": Unavailable, "UNAVAILABLE": Unavailable,
}
_BY_STATUS = {401: Unauthorized, 403: Forbidden, 404: NotFound, 400: InvalidParameter, 429: Unavailable,
              503: Unavailable}


def parse_errors(body: bytes) -> list[tuple[str, str]]:
    """[(CODE, message)] from a registry error body; empty when it is not one."""
    try:
        doc = json.loads(body)
    except ValueError:
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for e in doc.get("errors") or []:
        if isinstance(e, dict) and e.get("code"):
            out.append((str(e["code"]), str(e.get("message") or "")))
    if not out and isinstance(doc.get("details"), str):  # token servers (Docker Hub) say it this way
        out.append(("UNAUTHORIZED", doc["details"]))
    return out


def code_words(code: str) -> str:
    return code.lower().replace("_", " ")


# RFC 6750 bearer errors in a 4xx's WWW-Authenticate, as distribution's HandleErrorResponse reads them: they
# come before the body's errors, and docker reports the first error (a token lacking a scope is a denial).
_BEARER_ERRORS = {"invalid_token": ("UNAUTHORIZED", "authentication required"),
                  "insufficient_scope": ("DENIED", "requested access to the resource is denied")}


def _bearer_error(www_authenticate: str) -> tuple[str, str] | None:
    from .auth import parse_www_authenticate

    for ch in parse_www_authenticate(www_authenticate):
        if ch.scheme == "bearer" and ch.params.get("error") in _BEARER_ERRORS:
            code, default = _BEARER_ERRORS[ch.params["error"]]
            return code, ch.params.get("error_description") or default
    return None


def registry_error(status: int, body: bytes, context: str = "", www_authenticate: str = "") -> DockyardError:
    """A typed error for a failed registry response; `.code` and `.status` say what the registry said."""
    errs = parse_errors(body)
    bearer = _bearer_error(www_authenticate) if 400 <= status < 500 and www_authenticate else None
    if bearer:
        errs = [bearer]
    if errs:
        code, message = errs[0]
        text = f"{code_words(code)}: {message or code_words(code)}"
        cls = _BY_CODE.get(code) or _BY_STATUS.get(status, SystemError_)
    else:
        code = {401: "UNAUTHORIZED", 403: "DENIED", 404: "NOT_FOUND"}.get(status, "UNKNOWN")
        snippet = body[:200].decode(errors="replace").strip()
        text = f"unexpected status code {status}" + (f": {snippet}" if snippet and status not in (401, 404) else "")
        if status == 401:
            text = "unauthorized: authentication required"
        cls = _BY_STATUS.get(status, SystemError_)
    err = cls(f"{context}: {text}" if context else text)
    err.code, err.status = code, status
    return err


class NoBasicAuthCredentials(SystemError_):
    """distribution's auth.ErrNoBasicAuthCredentials: the registry asks for HTTP Basic and there is nothing to
    answer with (no `docker login`). Go wraps it in the request's url.Error, which is what docker prints on a
    pull (`Head "http://h/v2/r/manifests/t": no basic auth credentials`); a push prints it bare."""

    code = "NO_BASIC_AUTH_CREDENTIALS"
    status = 401
    bare = "no basic auth credentials"

    def __init__(self, method: str, url: str):
        self.method, self.url = method, url
        super().__init__(f'{method.capitalize()} "{url}": {self.bare}')
