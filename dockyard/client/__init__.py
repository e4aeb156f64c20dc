"""Engine API client over the daemon's unix socket (used by the CLI; never imports the daemon)."""
from .api import DockerClient

__all__ = ["DockerClient"]
