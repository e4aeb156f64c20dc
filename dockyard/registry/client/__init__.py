"""Registry client: talk to OCI distribution / Docker registry v2 servers (pull, push, login, search).

    endpoints.py     registry name -> URLs to try (Docker Hub, mirrors, HTTPS/HTTP rules, per-registry CAs)
    auth.py          anonymous / basic / bearer-token auth from WWW-Authenticate challenges
    dockercfg.py     ~/.docker/config.json, credential helpers, the X-Registry-Auth header
    distribution.py  RegistryClient: manifests, blobs (verified streaming), uploads, mounts, tags, search
    platform.py      Go platform names, --platform parsing, choosing an image index entry
    progress.py      Docker's JSON progress messages and progress-bar text
    errors.py        registry error bodies -> dockyard.errors

No daemon imports here: daemon/registry.py builds pull/push on top of this.
"""
from .auth import Credentials
from .distribution import DigestMismatch, RegistryClient
from .endpoints import RegistryHosts

__all__ = ["Credentials", "DigestMismatch", "RegistryClient", "RegistryHosts"]
