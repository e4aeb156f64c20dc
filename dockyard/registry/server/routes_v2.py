"""The /v2/ distribution API (OCI distribution spec v1.1). One dispatcher matches the path against ROUTES
(repository names contain slashes, so aiohttp's router cannot split them), checks the name and the
caller's rights, then calls the handler with the captured groups.
"""
import asyncio
import hashlib
import json
import re
from urllib.parse import urlencode

from aiohttp import web

from dockyard.registry.server import manifests as mf
from dockyard.registry.server.conditional import (BLOB_CACHE_CONTROL, BlobFileResponse, entity_tag, not_modified,
                                                 not_modified_response)
from dockyard.registry.server.errors import RegistryError
from dockyard.registry.server.names import (NAME_RE, TAG_RE, check_digest, check_name, check_reference, is_digest,
                                            split_digest)
from dockyard.registry.server.registry import Registry

PULL, PUSH, DELETE = {"pull"}, {"pull", "push"}, {"delete"}
_media_types: dict[str, str] = {}     # manifest digest -> mediaType (immutable; saves a JSON parse per GET)


def _remember_media_type(digest: str, media_type: str) -> None:
    if len(_media_types) > 100_000:      # bound the memory; entries are cheap to recompute
        _media_types.clear()
    _media_types[digest] = media_type


def _reg(request) -> Registry:
    return request.app["registry"]


# ---------- base, catalog ----------
async def base(request, reg: Registry):
    reg.auth.require_login(request, request["identity"])
    return web.json_response({})


def _page(items: list[str], request) -> tuple[list[str], str | None]:
    """n/last pagination. Returns the page and the `last` value for the next page (None = no more)."""
    last = request.query.get("last")
    if last:
        items = [i for i in items if i > last]
    n_raw = request.query.get("n")
    if n_raw is None or n_raw == "":
        return items, None
    try:
        n = int(n_raw)
        if n < 0:
            raise ValueError
    except ValueError:
        raise RegistryError("PAGINATION_NUMBER_INVALID", detail={"n": n_raw}) from None
    if n == 0:
        return [], None
    page = items[:n]
    return page, (page[-1] if len(items) > n else None)


def _link(path: str, n: str, last: str) -> str:
    return f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'


async def catalog(request, reg: Registry):
    ident = request["identity"]
    reg.auth.require_login(request, ident)
    repos = await asyncio.get_running_loop().run_in_executor(None, reg.storage.list_repos)
    repos = reg.policy.pullable(ident.user, repos)
    page, nxt = _page(repos, request)
    headers = {"Link": _link("/v2/_catalog", request.query["n"], nxt)} if nxt else {}
    return web.json_response({"repositories": page}, headers=headers)


# ---------- tags, referrers ----------
async def tags_list(request, reg: Registry, name: str):
    if not reg.storage.repo_exists(name):
        raise RegistryError("NAME_UNKNOWN", detail={"name": name})
    page, nxt = _page(reg.storage.list_tags(name), request)
    headers = {"Link": _link(f"/v2/{name}/tags/list", request.query["n"], nxt)} if nxt else {}
    return web.json_response({"name": name, "tags": page}, headers=headers)


def _load_manifest(reg: Registry, digest: str) -> tuple[bytes, str] | None:
    data = reg.storage.read_blob(digest)
    if data is None:
        return None
    media_type = _media_types.get(digest)
    if media_type is None:
        media_type = mf.parse(data, None).media_type
        _remember_media_type(digest, media_type)
    return data, media_type


async def referrers(request, reg: Registry, name: str, digest: str):
    check_digest(digest)
    wanted = request.query.get("artifactType")
    descriptors = []
    for ref in reg.storage.list_referrers(name, digest):
        if not reg.storage.has_revision(name, ref):
            continue
        data = reg.storage.read_blob(ref)
        if data is None:
            continue
        desc = mf.parse(data, None).descriptor(ref, len(data))
        if wanted and desc.get("artifactType") != wanted:
            continue
        descriptors.append(desc)
    headers = {"OCI-Filters-Applied": "artifactType"} if wanted else {}
    # Content-Type exactly the index media type, no "; charset=" (json_response's): the OCI conformance suite
    # compares the header whole.
    body = json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": descriptors}).encode()
    return web.Response(body=body, headers=headers, content_type=mf.OCI_INDEX)


# ---------- manifests ----------
def _resolve(reg: Registry, name: str, reference: str) -> str:
    if is_digest(reference):
        if reg.storage.has_revision(name, reference):
            return reference
    else:
        digest = reg.storage.get_tag(name, reference)
        if digest is not None:
            return digest
    # An unknown repository too: registry:2 answers MANIFEST_UNKNOWN here (NAME_UNKNOWN only for its tag
    # list), so `docker pull` of a mistyped name says "manifest for ... not found: manifest unknown".
    raise RegistryError("MANIFEST_UNKNOWN", detail={"name": name, "reference": reference})


async def manifest_get(request, reg: Registry, name: str, reference: str):
    check_reference(reference)
    digest = _resolve(reg, name, reference)
    loaded = _load_manifest(reg, digest)
    if loaded is None:
        raise RegistryError("MANIFEST_UNKNOWN", detail={"name": name, "reference": reference})
    data, media_type = loaded
    headers = {"Docker-Content-Digest": digest, "ETag": entity_tag(digest)}
    if not_modified(request, digest):
        return not_modified_response(headers)
    if request.method == "GET":
        reg.notifier.emit("pull", name, request, digest=digest, media_type=media_type, size=len(data),
                          tag=None if is_digest(reference) else reference, actor=request["identity"].user)
    return web.Response(body=data, headers=headers, content_type=media_type)


def _tags_to_set(request, reference: str) -> list[str]:
    """The tags a PUT sets: the reference when it is a tag; with a digest, the `?tag=` parameters (spec v1.1.1
    end-7b: a manifest pushed by digest with its tags in one request), each validated."""
    if not is_digest(reference):
        return [reference]
    tags = request.query.getall("tag", [])
    for tag in tags:
        if not TAG_RE.match(tag):
            raise RegistryError("TAG_INVALID", detail={"tag": tag})
    return list(dict.fromkeys(tags))


async def manifest_put(request, reg: Registry, name: str, reference: str):
    check_reference(reference)
    tags = _tags_to_set(request, reference)
    limit = reg.config.max_manifest_size
    if (request.content_length or 0) > limit:
        raise RegistryError("MANIFEST_INVALID", status=413, message=f"manifest larger than {limit} bytes")
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise RegistryError("MANIFEST_INVALID", status=413, message=f"manifest larger than {limit} bytes")
    request["in_bytes"] = len(body)
    m = mf.parse(body, request.headers.get("Content-Type"))
    algo = split_digest(reference)[0] if is_digest(reference) else "sha256"
    digest = f"{algo}:{hashlib.new(algo, body).hexdigest()}"
    if is_digest(reference) and reference != digest:
        raise RegistryError("DIGEST_INVALID", detail={"expected": reference, "actual": digest})
    missing = [d for d in m.blobs() if not (reg.storage.has_layer(name, d) and reg.storage.has_blob(d))]
    missing += [d for d in m.children() if not reg.storage.has_revision(name, d)]
    if missing:
        raise RegistryError("MANIFEST_BLOB_UNKNOWN", detail=[{"digest": d} for d in missing])
    _check_sizes(reg, m)
    await asyncio.get_running_loop().run_in_executor(None, reg.storage.put_blob, digest, body)
    _remember_media_type(digest, m.media_type)
    reg.storage.link_revision(name, digest)
    headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
    subject = m.subject()
    if subject:
        reg.storage.add_referrer(name, subject, digest)
        headers["OCI-Subject"] = subject
    for tag in tags:
        reg.storage.set_tag(name, tag, digest)
    if is_digest(reference) and tags:
        headers["OCI-Tag"] = ", ".join(tags)      # the spec's answer naming each tag that was set
    for tag in tags or [None]:
        reg.notifier.emit("push", name, request, digest=digest, media_type=m.media_type, size=len(body),
                          tag=tag, actor=request["identity"].user)
    return web.Response(status=201, headers=headers)


def _check_sizes(reg: Registry, m) -> None:
    """Every descriptor's size must be the stored content's: a wrong one would fail every pull's verification."""
    wrong = []
    for digest, declared in m.declared_sizes():
        actual = reg.storage.blob_size(digest)
        if actual is not None and actual != declared:
            wrong.append({"digest": digest, "size": declared, "actual": actual})
    if wrong:
        raise RegistryError("SIZE_INVALID", message="a descriptor's size does not match the content's length",
                            detail=wrong)


async def manifest_delete(request, reg: Registry, name: str, reference: str):
    if not reg.config.delete_enabled:
        raise RegistryError("UNSUPPORTED", message="deletes are disabled (storage.delete.enabled)")
    check_reference(reference)
    if not is_digest(reference):     # spec v1.1: deleting a tag removes only the tag
        digest = reg.storage.get_tag(name, reference)
        if digest is None or not reg.storage.delete_tag(name, reference):
            raise RegistryError("MANIFEST_UNKNOWN", detail={"name": name, "reference": reference})
        reg.notifier.emit("delete", name, request, digest=digest, tag=reference, actor=request["identity"].user)
        return web.Response(status=202)
    if not reg.storage.has_revision(name, reference):
        raise RegistryError("MANIFEST_UNKNOWN", detail={"name": name, "reference": reference})
    data = reg.storage.read_blob(reference)
    if data is not None:
        subject = mf.parse(data, None).subject()
        if subject:
            reg.storage.remove_referrer(name, subject, reference)
    tags = reg.storage.tags_for(name, reference)
    for tag in tags:
        reg.storage.delete_tag(name, tag)
    reg.storage.unlink_revision(name, reference)
    reg.notifier.emit("delete", name, request, digest=reference, actor=request["identity"].user)
    for tag in tags:   # as registry:2: each tag that went with the manifest is a delete event of its own
        reg.notifier.emit("delete", name, request, digest=reference, tag=tag, actor=request["identity"].user)
    return web.Response(status=202)


# ---------- blobs ----------
async def blob_get(request, reg: Registry, name: str, digest: str):
    check_digest(digest)
    st = reg.storage
    if not (st.has_layer(name, digest) or st.has_revision(name, digest)) or not st.has_blob(digest):
        raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
    if not_modified(request, digest):
        return not_modified_response({"Docker-Content-Digest": digest, "ETag": entity_tag(digest),
                                      "Cache-Control": BLOB_CACHE_CONTROL})
    if request.method == "GET":
        reg.notifier.emit("pull", name, request, digest=digest, size=st.blob_size(digest), url_kind="blobs",
                          actor=request["identity"].user)
    return BlobFileResponse(st.blob_path(digest), digest)


async def blob_delete(request, reg: Registry, name: str, digest: str):
    if not reg.config.delete_enabled:
        raise RegistryError("UNSUPPORTED", message="deletes are disabled (storage.delete.enabled)")
    check_digest(digest)
    if not reg.storage.unlink_layer(name, digest):
        raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
    reg.notifier.emit("delete", name, request, digest=digest, actor=request["identity"].user)
    return web.Response(status=202)


# ---------- uploads ----------
def _upload_headers(s) -> dict:
    return {"Location": f"/v2/{s.repo}/blobs/uploads/{s.uuid}", "Docker-Upload-UUID": s.uuid,
            "Range": f"0-{max(s.size - 1, 0)}"}


def _blob_created(name: str, digest: str) -> web.Response:
    return web.Response(status=201, headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest})


_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/\d+|/\*)?$")


def _chunk_range(request) -> tuple[int, int] | None:
    """(start, length) from a chunk's Content-Range (spec: "<start>-<end>", inclusive), or None without one.
    Unparsable -> 400 BLOB_UPLOAD_INVALID; a Content-Length that disagrees with it -> 400 SIZE_INVALID."""
    value = request.headers.get("Content-Range")
    if not value:
        return None
    m = _CONTENT_RANGE.match(value.strip())
    if not m:
        raise RegistryError("BLOB_UPLOAD_INVALID", message="malformed Content-Range", detail={"Content-Range": value})
    start, end = int(m.group(1)), int(m.group(2))
    if end < start:
        raise RegistryError("BLOB_UPLOAD_INVALID", status=416, message="Content-Range ends before it starts",
                            detail={"Content-Range": value})
    length = end - start + 1
    if request.content_length is not None and request.content_length != length:
        raise RegistryError("SIZE_INVALID", detail={"Content-Range": value, "Content-Length": request.content_length})
    return start, length


async def _receive(request, reg: Registry, s, chunk: tuple[int, int] | None = None) -> None:
    start, length = chunk if chunk else (None, None)
    added = await reg.uploads.append(s, request.content, start, length)
    request["in_bytes"] = request.get("in_bytes", 0) + added


async def _commit(request, reg: Registry, s, digest: str) -> int:
    size = await reg.uploads.commit(s, digest)
    reg.notifier.emit("push", s.repo, request, digest=digest, size=size, url_kind="blobs",
                      actor=request["identity"].user)
    return size


async def upload_start(request, reg: Registry, name: str):
    q = request.query
    if "mount" in q:
        digest = check_digest(q["mount"])
        source = q.get("from")
        if source:
            check_name(source)
            ident = request["identity"]
            if "pull" in reg.auth.granted(ident, source) and reg.storage.has_layer(source, digest) \
                    and reg.storage.has_blob(digest):
                reg.storage.link_layer(name, digest)
                reg.notifier.emit("mount", name, request, digest=digest, size=reg.storage.blob_size(digest),
                                  url_kind="blobs", from_repository=source, actor=ident.user)
                return _blob_created(name, digest)
        # Not mountable (unknown or not readable by the caller): fall back to a normal upload (202).
    s = reg.uploads.start(name)
    if "digest" in q:                          # monolithic upload in the POST itself
        digest = check_digest(q["digest"])
        async with s.lock:
            await _receive(request, reg, s)
            await _commit(request, reg, s, digest)
        return _blob_created(name, digest)
    return web.Response(status=202, headers=_upload_headers(s))


async def upload_patch(request, reg: Registry, name: str, uuid: str):
    s = reg.uploads.get(name, uuid)
    async with s.lock:
        await _receive(request, reg, s, _chunk_range(request))
    return web.Response(status=202, headers=_upload_headers(s))


async def upload_put(request, reg: Registry, name: str, uuid: str):
    s = reg.uploads.get(name, uuid)
    raw = request.query.get("digest")
    if not raw:
        raise RegistryError("DIGEST_INVALID", message="digest parameter missing")
    digest = check_digest(raw)
    async with s.lock:
        await _receive(request, reg, s, _chunk_range(request))
        await _commit(request, reg, s, digest)
    return _blob_created(name, digest)


async def upload_status(request, reg: Registry, name: str, uuid: str):
    s = reg.uploads.get(name, uuid)
    return web.Response(status=204, headers=_upload_headers(s))


async def upload_cancel(request, reg: Registry, name: str, uuid: str):
    s = reg.uploads.get(name, uuid)
    reg.uploads.cancel(s)
    return web.Response(status=204)


# ---------- dispatch ----------
_N = r"(?P<name>[^?#]+?)"
# (route name, path regex, {method: (handler, actions needed on the repository or None)})
ROUTES = [
    ("base", re.compile(r"^/v2/?$"), {"GET": (base, None), "HEAD": (base, None)}),
    ("catalog", re.compile(r"^/v2/_catalog$"), {"GET": (catalog, None)}),
    ("tags", re.compile(rf"^/v2/{_N}/tags/list$"), {"GET": (tags_list, PULL)}),
    ("manifests", re.compile(rf"^/v2/{_N}/manifests/(?P<reference>[^/]+)$"),
     {"GET": (manifest_get, PULL), "HEAD": (manifest_get, PULL), "PUT": (manifest_put, PUSH),
      "DELETE": (manifest_delete, DELETE)}),
    ("uploads", re.compile(rf"^/v2/{_N}/blobs/uploads/?$"), {"POST": (upload_start, PUSH)}),
    ("upload", re.compile(rf"^/v2/{_N}/blobs/uploads/(?P<uuid>[^/]+)$"),
     {"GET": (upload_status, PUSH), "PATCH": (upload_patch, PUSH), "PUT": (upload_put, PUSH),
      "DELETE": (upload_cancel, PUSH)}),
    ("blobs", re.compile(rf"^/v2/{_N}/blobs/(?P<digest>[^/]+)$"),
     {"GET": (blob_get, PULL), "HEAD": (blob_get, PULL), "DELETE": (blob_delete, DELETE)}),
    ("referrers", re.compile(rf"^/v2/{_N}/referrers/(?P<digest>[^/]+)$"), {"GET": (referrers, PULL)}),
]


def _access_needed(request, route_name: str, name: str | None, needed: set | None) -> list:
    """[(type, name, actions)] this request needs, as registry:2 lists them in a refusal's detail and challenge
    scope: the catalog, or the repository (plus pull on the source repository of a cross-repository mount)."""
    if route_name == "catalog":
        return [("registry", "catalog", ["*"])]
    if needed is None:
        return []
    access = [("repository", name, sorted(needed, key=["pull", "push", "delete"].index))]
    source = request.query.get("from")
    if route_name == "uploads" and "mount" in request.query and source and source != name and NAME_RE.match(source):
        access.append(("repository", source, ["pull"]))
    return access


def match(path: str):
    for route_name, regex, methods in ROUTES:
        m = regex.match(path)
        if m:
            return route_name, m.groupdict(), methods
    return None


async def dispatch(request: web.Request) -> web.StreamResponse:
    reg = _reg(request)
    found = match(request.path)
    if found is None:
        from dockyard.registry.server.routes_hub import dispatch as hub_dispatch
        return await hub_dispatch(request)
    route_name, groups, methods = found
    request["route"] = route_name
    if request.method not in methods:
        raise RegistryError("UNSUPPORTED", status=405, message=f"{request.method} not allowed on {route_name}",
                            headers={"Allow": ", ".join(sorted(methods))})
    handler, needed = methods[request.method]
    if "name" in groups:
        check_name(groups["name"])
    request["access"] = _access_needed(request, route_name, groups.get("name"), needed)
    ident = await reg.auth.identify(request)
    request["identity"] = ident
    if needed is not None:
        reg.auth.authorize(request, ident, groups["name"], needed)
    return await handler(request, reg, **groups)
