"""The distribution spec's error codes and JSON error body: {"errors": [{"code", "message", "detail"}]}."""
import json

from aiohttp import web

# code -> (HTTP status, default message); from the distribution spec's error code table, plus distribution's
# PAGINATION_NUMBER_INVALID. TOOMANYREQUESTS only for sign-ins throttled after repeated failures (the Hub's
# accounts); there is no request rate limiting. An out-of-order chunk is
# BLOB_UPLOAD_INVALID with status 416, as the spec names no range code.
CODES = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "manifest references a manifest or blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown"),  # registry:2's words; docker prints them
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "TAG_INVALID": (400, "manifest tag did not match URI"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "the operation is unsupported"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
    "TOOMANYREQUESTS": (429, "too many requests"),
}


class RegistryError(Exception):
    """Raised anywhere in the server; rendered by the error middleware."""

    def __init__(self, code: str, message: str | None = None, detail=None, status: int | None = None,
                 headers: dict | None = None):
        default_status, default_message = CODES[code]
        self.code = code
        self.message = message or default_message
        self.detail = detail
        self.status = status or default_status
        self.headers = headers or {}
        super().__init__(f"{code}: {self.message}")

    def body(self) -> dict:
        err = {"code": self.code, "message": self.message}
        if self.detail is not None:
            err["detail"] = self.detail
        return {"errors": [err]}

    def response(self, head: bool = False) -> web.Response:
        # HEAD responses carry no body (the spec: "errors are not returned for HEAD").
        payload = b"" if head else json.dumps(self.body()).encode()
        resp = web.Response(status=self.status, body=payload, headers=self.headers,
                            content_type="application/json")
        return resp
