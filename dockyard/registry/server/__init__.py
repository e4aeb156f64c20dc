"""dockyard's registry server: an OCI distribution spec v1.1 registry (like registry:2).

Modules, one job each:
  names.py      repository name / tag / digest syntax
  errors.py     spec error codes and their JSON body
  config.py     YAML config -> dataclasses
  storage.py    on-disk layout (docker/distribution compatible): blobs, links, tags, repo metadata
  uploads.py    resumable blob upload sessions (verified by digest before linking)
  manifests.py  manifest/index parsing: references, subject, descriptors
  access.py     per-repository rules: who may pull/push
  auth.py       none / htpasswd basic / built-in bearer token service
  notify.py     web hook notifications (distribution's envelope), retried off the request path
  metrics.py    Prometheus text counters
  accesslog.py  structured (JSON lines) access log
  routes_v2.py  the /v2/ distribution API
  routes_hub.py Docker Hub-style extras (/v1/search, /v2/repositories/...)
  app.py        builds the aiohttp application
  gc.py         mark-and-sweep garbage collection
  cli.py        `dockyard registry serve|garbage-collect`
"""
