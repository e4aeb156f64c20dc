"""Counters rendered in the Prometheus text exposition format (no client library needed)."""
from collections import defaultdict

HELP = {
    "dockyard_registry_http_requests_total": "HTTP requests by method, route and status code.",
    "dockyard_registry_http_request_duration_seconds_sum": "Total time spent serving requests.",
    "dockyard_registry_http_request_duration_seconds_count": "Requests timed.",
    "dockyard_registry_http_response_bytes_total": "Bytes sent in response bodies.",
    "dockyard_registry_http_request_bytes_total": "Bytes received in request bodies.",
    "dockyard_registry_errors_total": "Registry errors by spec error code.",
    "dockyard_registry_notifications_total": "Notification events by endpoint and outcome.",
}


class Metrics:
    def __init__(self):
        self.values: dict[str, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))

    def inc(self, name: str, amount: float = 1, **labels) -> None:
        self.values[name][tuple(sorted(labels.items()))] += amount

    def render(self) -> str:
        lines = []
        for name in sorted(self.values):
            lines.append(f"# HELP {name} {HELP.get(name, name)}")
            lines.append(f"# TYPE {name} {'counter' if name.endswith(('_total', '_sum', '_count')) else 'gauge'}")
            for labels, value in sorted(self.values[name].items()):
                label_text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels)
                lines.append(f"{name}{{{label_text}}} {_num(value)}" if label_text else f"{name} {_num(value)}")
        return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
