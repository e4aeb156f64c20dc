"""Kubernetes as a translator, not a second engine.

`generate` and `compose` turn containers (their inspect JSON) and compose projects into Kubernetes manifests;
`pods` turns manifests back into Engine API create bodies and `play` runs them through the same client the
`dockyard` CLI uses. Nothing here imports the daemon: what kube play makes, `docker ps` can see and manage.
"""
