"""The Hub's web pages, at Docker Hub's URLs, server-rendered with Jinja2 (autoescaping on everywhere).

`setup(app, hub)` is called by dockyard.hub.app.setup_hub: it adds the templates, the static files and the
routes below to the registry's aiohttp application. Handlers live in views_public (reading), views_account
(sign-in, tokens, create), views_settings (star, repository settings), views_orgs (organizations, teams);
web.py has the shared session/CSRF/rendering helpers; backend.py adapts the Hub to what the pages need.
"""
from __future__ import annotations

import os

import aiohttp_jinja2
import jinja2
from aiohttp import web

from dockyard.hub.pages import views_account as acct
from dockyard.hub.pages import views_orgs as orgs
from dockyard.hub.pages import views_public as pub
from dockyard.hub.pages import views_settings as sett
from dockyard.hub.pages.backend import PagesBackend
from dockyard.hub.pages.filters import FILTERS

HERE = os.path.dirname(__file__)
STATIC_PREFIX = "/static/hub"


def _routes(r: web.UrlDispatcher) -> None:
    r.add_get("/", pub.home)
    r.add_get("/search", pub.search)
    for prefix in ("/r/{ns}/{repo}", "/_/{name}"):
        r.add_get(prefix, pub.repository)
        r.add_get(prefix + "/tags", pub.tags)
        r.add_get(prefix + "/tags/{tag}", pub.tag)
        r.add_post(prefix + "/star", sett.star)
        r.add_get(prefix + "/settings", sett.settings_page)
        r.add_post(prefix + "/settings/general", sett.general)
        r.add_post(prefix + "/settings/visibility", sett.visibility)
        r.add_post(prefix + "/settings/access", sett.grant)
        r.add_post(prefix + "/settings/access/remove", sett.revoke)
        r.add_post(prefix + "/settings/webhooks", sett.add_hook)
        r.add_post(prefix + "/settings/webhooks/remove", sett.remove_hook)
        r.add_post(prefix + "/settings/delete", sett.delete)
    r.add_get("/u/{user}", pub.user_page)
    r.add_get("/orgs/create", orgs.create_form)
    r.add_post("/orgs/create", orgs.create)
    r.add_get("/orgs/{org}", pub.org_page)
    r.add_post("/orgs/{org}/teams", orgs.team_create)
    r.add_post("/orgs/{org}/teams/members", orgs.member_add)
    r.add_post("/orgs/{org}/teams/members/remove", orgs.member_remove)
    r.add_get("/orgs/{org}/{tab:teams|members}", pub.org_page)
    r.add_get("/login", acct.login_form)
    r.add_post("/login", acct.login)
    r.add_post("/logout", acct.logout)
    r.add_get("/signup", acct.signup_form)
    r.add_post("/signup", acct.signup)
    r.add_get("/settings/password", acct.password_form)
    r.add_post("/settings/password", acct.password)
    r.add_get("/settings/security", acct.tokens_form)
    r.add_post("/settings/security", acct.token_create)
    r.add_post("/settings/security/{id}/delete", acct.token_delete)
    r.add_get("/repository/create", acct.create_repo_form)
    r.add_post("/repository/create", acct.create_repo)
    r.add_static(STATIC_PREFIX, os.path.join(HERE, "static"), append_version=False)


def setup(app: web.Application, hub) -> None:
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
                               autoescape=True, filters=FILTERS, default_helpers=False)
    env.globals["static"] = lambda name: f"{STATIC_PREFIX}/{name}"
    backend = app["hub_pages_backend"] = PagesBackend(hub, app["registry"])
    app["registry"].notifier.listeners.append(backend.explorer.on_registry_event)
    _routes(app.router)
