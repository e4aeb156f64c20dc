"""The Engine API versions this daemon speaks: the daemon reports them (`/version`), the API layer enforces them."""
MIN_API_VERSION = "1.24"
MAX_API_VERSION = "1.50"
