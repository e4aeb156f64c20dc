"""Web hooks: on every push of a tag, POST Docker Hub's payload to each hook of the repository.

A repository's hooks get only that repository's payload (a private one's goes to its own hooks only). Each
push is a delivery row per hook (time, status pending|success|failed, response code, attempts, message),
shown by the API and the pages. A failed attempt (connection error, timeout, non-2xx) is retried
`webhook_retries` times after `webhook_backoff` * 2^n seconds. Hook URLs must be http(s) to a host on the
`webhook_allowlist` (checked when a hook is created and again before every delivery); names are compared as
written, never resolved first. The receiver may report a state back by POSTing {"state": success|failure|error,
"description"} to the payload's `callback_url`, as Docker Hub's hooks do.
"""
import asyncio
import logging
import secrets
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("dockyard.hub.webhooks")


class HookError(ValueError):
    """A hook URL that is not allowed; the message says why (HTTP 400)."""


def url_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class Webhooks:
    def __init__(self, store, config):
        self.store = store
        self.config = config
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task] = set()

    def check_url(self, url) -> str:
        if not isinstance(url, str) or not url or len(url) > 2000:
            raise HookError("hook_url is required")
        try:
            parts = urlsplit(url)
            parts.port
        except ValueError:
            raise HookError(f"hook_url is not a valid URL: {url}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HookError("hook_url must be an http:// or https:// URL")
        if url_host(url) not in self.config.webhook_allowlist:
            raise HookError(f"hook_url host {parts.hostname} is not in the registry's webhook allowlist")
        return url

    # ---- payload ----
    @staticmethod
    def payload(repo: dict, tag: str, pusher: str, pushed_at: float, base_url: str, callback_token: str) -> dict:
        ns, name = repo["namespace"], repo["name"]
        official = ns == "library"
        return {
            "callback_url": f"{base_url}/v2/webhook_callbacks/{callback_token}/",
            "push_data": {"pushed_at": int(pushed_at), "pusher": pusher or "", "tag": tag, "images": []},
            "repository": {
                "status": "Active", "description": repo["description"], "is_trusted": False,
                "full_description": repo["full_description"],
                "repo_url": f"{base_url}/_/{name}" if official else f"{base_url}/r/{ns}/{name}",
                "owner": ns, "is_official": official, "is_private": repo["is_private"], "name": name,
                "namespace": ns, "star_count": repo["star_count"], "comment_count": 0,
                "date_created": int(repo["created"]), "repo_name": repo["full_name"], "dockerfile": "",
            },
        }

    # ---- delivery ----
    def on_push(self, repo: dict, tag: str, pusher: str, pushed_at: float, base_url: str) -> None:
        """Queue one delivery per hook of `repo` (called from the push event; never waits)."""
        for hook in self.store.hooks(repo["id"]):
            token = secrets.token_urlsafe(24)
            delivery_id = self.store.add_delivery(hook["id"], tag, token)
            body = self.payload(repo, tag, pusher, pushed_at, base_url, token)
            task = asyncio.get_running_loop().create_task(self._deliver(hook, delivery_id, body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _deliver(self, hook: dict, delivery_id: int, body: dict) -> None:
        attempts, code, message = 0, None, ""
        for attempt in range(1 + max(0, self.config.webhook_retries)):
            if attempt:
                await asyncio.sleep(self.config.webhook_backoff * 2 ** (attempt - 1))
            try:
                self.check_url(hook["hook_url"])        # the allowlist may have changed since it was created
            except HookError as e:
                self.store.update_delivery(delivery_id, "failed", None, attempts, str(e))
                return
            attempts += 1
            code, message = await self._post(hook["hook_url"], body)
            if code is not None and 200 <= code < 300:
                self.store.update_delivery(delivery_id, "success", code, attempts, message)
                return
            self.store.update_delivery(delivery_id, "pending", code, attempts, message)
        log.warning("web hook %s (%s) failed %d times: %s", hook["name"], hook["hook_url"], attempts, message)
        self.store.update_delivery(delivery_id, "failed", code, attempts, message)

    async def _post(self, url: str, body: dict) -> tuple[int | None, str]:
        if self.session is None:
            self.session = aiohttp.ClientSession()
        try:
            async with self.session.post(url, json=body, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=self.config.webhook_timeout)) as resp:
                await resp.read()
                return resp.status, f"HTTP {resp.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return None, f"{type(e).__name__}: {e}"

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()
