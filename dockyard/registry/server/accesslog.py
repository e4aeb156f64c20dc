"""One JSON object per request (time, remote, method, path, status, bytes, duration, user, route, request id),
written after the response is complete. The same hook feeds the request metrics, so they agree."""
import json
import sys
import time

from aiohttp.abc import AbstractAccessLogger


class JsonAccessLogger(AbstractAccessLogger):
    stream = None     # set by serve(): a file object, or None to only count metrics

    @property
    def enabled(self) -> bool:
        return True

    def log(self, request, response, duration: float) -> None:
        reg = request.app["registry"]
        route = request.get("route", "other")
        sent = body_bytes(request, response)
        received = request.get("in_bytes") or 0
        m = reg.metrics
        m.inc("dockyard_registry_http_requests_total", method=request.method, route=route, code=response.status)
        m.inc("dockyard_registry_http_request_duration_seconds_sum", duration, route=route)
        m.inc("dockyard_registry_http_request_duration_seconds_count", route=route)
        m.inc("dockyard_registry_http_response_bytes_total", sent, route=route)
        if received:
            m.inc("dockyard_registry_http_request_bytes_total", received, route=route)
        if request.get("error_code"):
            m.inc("dockyard_registry_errors_total", code=request["error_code"])
        if self.stream is None:
            return
        ident = request.get("identity")
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
            "remote": request.remote, "method": request.method, "path": request.path_qs,
            "status": response.status, "bytes_sent": sent, "bytes_received": received,
            "duration_ms": round(duration * 1000, 3), "route": route,
            "user": ident.user if ident else None, "request_id": request.get("request_id"),
            "user_agent": request.headers.get("User-Agent", ""),
        }
        if request.get("error_code"):
            record["error"] = request["error_code"]
        try:
            self.stream.write(json.dumps(record) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


def body_bytes(request, response) -> int:
    """Body bytes sent. Not response.body_length: that is what went through aiohttp's writer, headers
    included, and a FileResponse's body goes around it (sendfile), so a blob GET would count only its
    headers. Content-Length is the body of a full or 206 answer; HEAD, 204 and 304 carry none."""
    if request.method == "HEAD" or response.status in (204, 304):
        return 0
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit():
        return int(length)
    return getattr(response, "body_length", 0) or 0   # chunked: no better figure


def open_stream(path: str):
    return open(path, "a", buffering=1) if path else sys.stderr
