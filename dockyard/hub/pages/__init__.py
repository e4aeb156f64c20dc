"""The Hub's web UI (server-rendered pages at Docker Hub's URLs). Built by the pages work on top of the Hub core."""


def setup(app, hub):
    """Register the pages' routes on `app` (called by dockyard.hub.app.setup_hub before the registry's own routes,
    so they win over the /v2/ catch-all). `hub` is the Hub object documented in dockyard/hub/app.py. No pages yet."""
