"""Docker Hub-style extras: GET /v1/search, and under /v2/repositories/<ns>/<repo>/: repo info (GET, PATCH
description), tags and tags/<tag> (GET, like hub.docker.com's tags API, with each platform under `images`),
stars (POST/DELETE .../stars/).

Rights come from the access Policy (not token scopes): this is a separate API, as on Docker Hub.
Private repositories a caller cannot pull are invisible: they answer 404 and are left out of search.
"""
import asyncio
import datetime
import json
import math
import re
from urllib.parse import urlencode

from aiohttp import web

from dockyard.registry.server.errors import RegistryError
from dockyard.registry.server.names import NAME_RE


def _not_found(what: str) -> web.Response:
    return web.json_response({"message": f"{what} not found", "errinfo": {}}, status=404)


def is_official(name: str) -> bool:
    return name.startswith("library/") or "/" not in name


def display_name(name: str) -> str:
    return name[len("library/"):] if name.startswith("library/") else name


def _resolve(reg, requested: str) -> str | None:
    """Hub names are <ns>/<repo>; "library/x" also finds a top-level "x" (as docker.io/x is library/x)."""
    if reg.storage.repo_exists(requested):
        return requested
    if requested.startswith("library/") and reg.storage.repo_exists(requested[8:]):
        return requested[8:]
    return None


def iso_time(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def int_param(request, key: str, default: int, lo: int = 1, hi: int = 100) -> int:
    try:
        return max(lo, min(hi, int(request.query.get(key, default))))
    except ValueError:
        return default


async def search(request: web.Request) -> web.Response:
    reg = request.app["registry"]
    request["route"] = "search"
    ident = await reg.auth.identify(request)
    request["identity"] = ident
    query = request.query.get("q", "").lower()
    n = int_param(request, "n", 25)
    page = int_param(request, "page", 1, hi=10 ** 6)

    def collect():
        out = []
        for name in reg.storage.list_repos():
            if not reg.policy.can_pull(ident.user, name):
                continue
            meta = reg.storage.get_meta(name)
            if query and query not in name.lower() and query not in meta["description"].lower():
                continue
            out.append({"name": display_name(name), "description": meta["description"],
                        "star_count": len(meta["stars"]), "is_official": is_official(name),
                        "is_automated": False, "is_trusted": False})
        out.sort(key=lambda r: (-r["star_count"], not r["is_official"], r["name"]))
        return out

    results = await asyncio.get_running_loop().run_in_executor(None, collect)
    chunk = results[(page - 1) * n: page * n]
    return web.json_response({"query": request.query.get("q", ""), "num_results": len(results), "page": page,
                              "page_size": n, "num_pages": max(1, math.ceil(len(results) / n)), "results": chunk})


def repo_summary(reg, name: str) -> dict:
    meta = reg.storage.get_meta(name)
    tags = reg.storage.list_tags(name)
    last = max((reg.storage.tag_mtime(name, t) for t in tags), default=0.0)
    ns, _, short = name.rpartition("/")
    return {"user": ns or "library", "name": short, "namespace": ns or "library", "repository_type": "image",
            "status": 1, "description": meta["description"], "full_description": meta["full_description"],
            "is_private": not reg.policy.is_public(name), "star_count": len(meta["stars"]),
            "is_official": is_official(name), "last_updated": iso_time(last) if last else None}


async def repo_info(request, reg, name, ident):
    if request.method == "PATCH":
        if "push" not in reg.policy.actions(ident.user, name):
            raise RegistryError("DENIED")
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"message": "body must be JSON"}, status=400)
        fields = {k: str(body[k]) for k in ("description", "full_description") if k in body}
        reg.storage.update_meta(name, lambda meta: meta.update(fields))
    return web.json_response(repo_summary(reg, name))


def _json_blob(st, digest: str | None) -> dict:
    try:
        doc = json.loads(st.read_blob(digest) or b"{}") if digest else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _image_entry(st, digest: str, manifest: dict, platform: dict | None, updated: str) -> dict:
    """One platform of a tag as Docker Hub lists it under `images`."""
    if platform is None:  # a single image: its config says
        platform = _json_blob(st, (manifest.get("config") or {}).get("digest"))
    return {"architecture": platform.get("architecture", ""), "features": "", "variant": platform.get("variant"),
            "digest": digest, "os": platform.get("os", ""), "os_features": "",
            "os_version": platform.get("os.version") or platform.get("os_version"),
            "size": sum(layer.get("size", 0) for layer in manifest.get("layers") or []), "status": "active",
            "last_pulled": None, "last_pushed": updated}


def tag_entry(st, name: str, tag: str) -> dict | None:
    digest = st.get_tag(name, tag)
    if digest is None:
        return None
    doc = _json_blob(st, digest)
    updated = iso_time(st.tag_mtime(name, tag))
    if "manifests" in doc:  # an index: one entry per platform (attestations, "unknown/unknown", are not images)
        images = [_image_entry(st, m.get("digest"), _json_blob(st, m.get("digest")), m.get("platform") or {}, updated)
                  for m in doc["manifests"] if (m.get("platform") or {}).get("os", "unknown") != "unknown"]
    else:
        images = [_image_entry(st, digest, doc, None, updated)]
    return {"name": tag, "digest": digest, "full_size": sum(i["size"] for i in images), "last_updated": updated,
            "tag_last_pushed": updated, "media_type": doc.get("mediaType", ""), "content_type": "image",
            "tag_status": "active", "repository": 0, "images": images}


async def repo_tag(request, reg, name, ident):
    """GET /v2/repositories/<ns>/<repo>/tags/<tag>: one tag, as Docker Hub answers it."""
    tag = request["hub_tag"]
    entry = tag_entry(reg.storage, name, tag)
    if entry is None:
        return _not_found(f"tag {tag}")
    return web.json_response(entry)


async def repo_tags(request, reg, name, ident):
    page_size = int_param(request, "page_size", 10)
    page = int_param(request, "page", 1, hi=10 ** 6)
    wanted = request.query.get("name", "")
    st = reg.storage
    tags = [t for t in st.list_tags(name) if wanted in t]
    tags.sort(key=lambda t: (-st.tag_mtime(name, t), t))       # newest first, as Docker Hub lists them
    results = [e for e in (tag_entry(st, name, t) for t in tags[(page - 1) * page_size: page * page_size]) if e]
    base = f"{request.scheme}://{request.host}{request.path}"
    nxt = f"{base}?{urlencode({'page': page + 1, 'page_size': page_size})}" if page * page_size < len(tags) else None
    prev = f"{base}?{urlencode({'page': page - 1, 'page_size': page_size})}" if page > 1 else None
    return web.json_response({"count": len(tags), "next": nxt, "previous": prev, "results": results})


async def repo_stars(request, reg, name, ident):
    user = ident.user if reg.auth.kind != "none" else (ident.user or "anonymous")
    if user is None:
        raise RegistryError("UNAUTHORIZED", headers=reg.auth.challenge(request))

    def change(meta):
        stars = set(meta["stars"])
        stars.add(user) if request.method == "POST" else stars.discard(user)
        meta["stars"] = sorted(stars)

    meta = reg.storage.update_meta(name, change)
    return web.json_response({"star_count": len(meta["stars"])}, status=201 if request.method == "POST" else 200)


_HUB_ROUTES = [
    ("hub_tags", re.compile(r"^/v2/repositories/(?P<name>.+?)/tags/?$"), {"GET"}, repo_tags),
    ("hub_tag", re.compile(r"^/v2/repositories/(?P<name>.+?)/tags/(?P<tag>[\w][\w.-]{0,127})/?$"), {"GET"},
     repo_tag),
    ("hub_stars", re.compile(r"^/v2/repositories/(?P<name>.+?)/stars/?$"), {"POST", "DELETE"}, repo_stars),
    ("hub_repo", re.compile(r"^/v2/repositories/(?P<name>.+?)/?$"), {"GET", "PATCH"}, repo_info),
]


async def dispatch(request: web.Request) -> web.StreamResponse:
    reg = request.app["registry"]
    for route_name, regex, methods, handler in _HUB_ROUTES:
        m = regex.match(request.path)
        if not m:
            continue
        request["route"] = route_name
        if request.method not in methods:
            return web.json_response({"message": "method not allowed"}, status=405)
        ident = await reg.auth.identify(request)
        request["identity"] = ident
        requested = m.group("name")
        request["hub_tag"] = m.groupdict().get("tag")
        name = _resolve(reg, requested) if NAME_RE.match(requested) else None
        if name is None or not reg.policy.can_pull(ident.user, name):
            return _not_found(f"repository {requested}")
        return await handler(request, reg, name, ident)
    request["route"] = "unknown"
    return _not_found("page")
