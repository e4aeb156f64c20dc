"""dockyard's Docker Hub: accounts, organizations and teams, repository rights, personal access tokens, stars,
web hooks, pull counts, the Hub API and the web UI, on top of the registry server (which runs without it).

Modules, one job each (dependencies point down: app -> routes_api/pages -> repos/orgs/accounts/sessions/webhooks ->
rights -> store):
  config.py      the `hub:` config section -> HubConfig
  store.py       SQLite (WAL) database: data access only
  rights.py      THE access policy (permission levels, visibility, the registry's Policy adapter)
  accounts.py    passwords, personal access tokens, sign-in with throttling (authenticate)
  sessions.py    web sessions + CSRF tokens, API JWTs, who is calling (principal)
  repos.py       repository operations (create, settings, tags, collaborators, teams, hooks) and JSON shapes
  orgs.py        organization and team operations
  webhooks.py    Docker Hub web hook payloads, delivery with retries, history
  errors.py      Hub API error bodies
  routes_api.py  the Hub API (Docker Hub's paths and shapes): accounts, repositories, search, the route table;
  routes_hooks.py, routes_orgs.py, routes_tokens.py  web hooks, organizations/teams, access tokens
  api_common.py  the API modules' shared helpers (caller + CSRF, body fields, paging, input errors)
  cli.py         `dockyard registry user add|rm|passwd|ls`
  app.py         setup_hub(): wires it all into the registry app; the `hub` object the pages use
  pages/         the web UI
"""
