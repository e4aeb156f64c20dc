"""Pages anyone may open (what they show depends on the viewer's rights): home, search, repository
overview, tags, a tag with its layer explorer, user and organization pages. A repository the viewer may not
read is the same 404 page as a repository that does not exist."""
from __future__ import annotations

from aiohttp import web

from dockyard.hub.markdown import render as render_markdown
from dockyard.hub.pages.web import backend, blocking, not_found, render, viewer

SEARCH_PAGE = 25
TAGS_PAGE = 25


def _page(request: web.Request) -> int:
    try:
        return max(1, min(10 ** 6, int(request.query.get("page", "1"))))
    except ValueError:
        return 1


def repo_name(request: web.Request) -> str:
    """`/r/{ns}/{repo}` -> ns/repo; `/_/{name}` -> library/name (official images)."""
    m = request.match_info
    return f"{m['ns']}/{m['repo']}" if "ns" in m else f"library/{m['name']}"


async def readable_repo(request: web.Request):
    """The repository view if the viewer may read it, else None (the caller answers 404)."""
    v = await viewer(request)
    return await blocking(backend(request).repo, v.user, repo_name(request), request.host)


def repo_page(handler):
    """A page of one repository: 404 (the same page as for no repository) unless the viewer may read it."""
    async def wrapped(request: web.Request) -> web.Response:
        if request.match_info.get("ns") == "library":     # official images have one address, as on Docker Hub
            raise web.HTTPMovedPermanently("/_/" + request.path_qs[len("/r/library/"):])
        repo = await readable_repo(request)
        if repo is None:
            return await not_found(request)
        return await handler(request, repo)
    return wrapped


async def home(request: web.Request) -> web.Response:
    v = await viewer(request)
    b = backend(request)
    official, popular = await blocking(b.home_lists, v.user, request.host)
    return await render(request, "home.html", {"official": official, "popular": popular})


async def search(request: web.Request) -> web.Response:
    v = await viewer(request)
    query = request.query.get("q", "").strip()[:200]
    page = _page(request)
    results, total = await blocking(backend(request).search, v.user, query, (page - 1) * SEARCH_PAGE, SEARCH_PAGE,
                                    request.host)
    return await render(request, "search.html", {"query": query, "results": results, "total": total, "page": page,
                                                 "has_next": page * SEARCH_PAGE < total})


@repo_page
async def repository(request: web.Request, repo: dict) -> web.Response:
    v = await viewer(request)
    b = backend(request)
    tags, _ = await blocking(b.tags.page, repo["storage_name"], 1, 5)
    starred = await blocking(b.is_starred, v.user, repo["name"]) if v.user else False
    readme = render_markdown(repo["full_description"]) if repo["full_description"] else None
    return await render(request, "repo.html", {"repo": repo, "readme": readme, "tags": tags, "starred": starred,
                                               "registry_host": request.host})


@repo_page
async def tags(request: web.Request, repo: dict) -> web.Response:
    page = _page(request)
    rows, total = await blocking(backend(request).tags_page, repo, page, TAGS_PAGE)
    return await render(request, "tags.html", {"repo": repo, "tags": rows, "total": total, "page": page,
                                               "has_next": page * TAGS_PAGE < total})


@repo_page
async def tag(request: web.Request, repo: dict) -> web.Response:
    b = backend(request)
    row = await blocking(b.tag_row, repo, request.match_info["tag"])
    if row is None:
        return await not_found(request, "This tag does not exist.")
    wanted = request.query.get("platform", "")
    images = row.platforms or [{"platform": "", "digest": row.digest, "size": row.size}]
    image = next((p for p in images if p["platform"] == wanted), images[0])
    explored = await b.explorer.get(image["digest"])
    return await render(request, "tag.html", {"repo": repo, "tag": row, "image": image, "explored": explored})


async def user_page(request: web.Request) -> web.Response:
    return await namespace_page(request, request.match_info["user"], "user", "repos")


async def org_page(request: web.Request) -> web.Response:
    active = request.match_info.get("tab", "repos")
    return await namespace_page(request, request.match_info["org"], "org", active)


async def namespace_page(request: web.Request, name: str, kind: str, active: str, error: str | None = None,
                         status: int = 200) -> web.Response:
    """A user's or organization's page (tab `active`: repos, teams, members)."""
    v = await viewer(request)
    info = await blocking(backend(request).namespace, v.user, name, request.host)
    if info is None or info["kind"] != kind:
        return await not_found(request)
    return await render(request, "profile.html", {**info, "name": name, "is_org": kind == "org", "active": active,
                                                  "flashes": [("error", error)] if error else []}, status=status)
