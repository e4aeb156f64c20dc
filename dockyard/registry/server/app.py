"""Builds the aiohttp application and runs it (serve): routes, the error middleware, TLS, clean shutdown."""
import asyncio
import logging
import signal
import ssl
import sys
import uuid

from aiohttp import web

from dockyard.registry.server import routes_hub, routes_ops, routes_v2
from dockyard.registry.server.accesslog import JsonAccessLogger, open_stream
from dockyard.registry.server.config import Config
from dockyard.registry.server.errors import RegistryError
from dockyard.registry.server.registry import Registry

log = logging.getLogger("dockyard.registry")
API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


@web.middleware
async def errors_middleware(request: web.Request, handler):
    request["request_id"] = str(uuid.uuid4())
    try:
        resp = await handler(request)
    except RegistryError as e:
        request["error_code"] = e.code
        resp = e.response(head=request.method == "HEAD")
    except web.HTTPException as e:
        resp = e
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        request["error_code"] = "UNKNOWN"
        resp = web.json_response({"errors": [{"code": "UNKNOWN", "message": "internal server error"}]}, status=500)
    resp.headers.update(API_VERSION_HEADER)
    resp.headers["X-Request-Id"] = request["request_id"]
    return resp


def build_app(config: Config, extensions=()) -> web.Application:
    """The registry's application. Each extension (`ext(app, registry, config)`, e.g. dockyard.hub.app.setup_hub)
    runs before the registry's own routes are added, so its routes win over the /v2/ catch-all."""
    reg = Registry.build(config)
    app = web.Application(middlewares=[errors_middleware])
    app["registry"] = reg
    for extension in extensions:
        extension(app, reg, config)
    app.router.add_route("*", "/v2", routes_v2.dispatch)
    app.router.add_route("*", "/v2/{tail:.*}", routes_v2.dispatch)
    app.router.add_get("/v1/search", routes_hub.search)
    app.router.add_route("GET", "/token", routes_ops.token)
    app.router.add_route("POST", "/token", routes_ops.token)
    for path in ("/health", "/healthz", "/debug/health"):
        app.router.add_get(path, routes_ops.health)
    app.router.add_get("/metrics", routes_ops.metrics)

    async def start_notifier(app):
        await reg.notifier.start()

    async def stop_notifier(app):
        await reg.notifier.stop()

    app.on_startup.append(start_notifier)
    app.on_shutdown.append(stop_notifier)
    return app


def _ssl_context(config: Config) -> ssl.SSLContext | None:
    if not config.tls_cert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(config.tls_cert, config.tls_key)
    return ctx


async def _serve(config: Config, extensions=()) -> None:
    app = build_app(config, extensions)
    JsonAccessLogger.stream = open_stream(config.accesslog_path) if config.accesslog else None
    runner = web.AppRunner(app, access_log_class=JsonAccessLogger, access_log=log, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, ssl_context=_ssl_context(config), backlog=1024,
                       reuse_address=True)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheme = "https" if config.tls_cert else "http"
    print(f"dockyard registry listening on {scheme}://{config.listen} storage={config.storage} "
          f"auth={config.auth.kind}", file=sys.stderr, flush=True)
    await stop.wait()
    print("dockyard registry shutting down", file=sys.stderr, flush=True)
    # Stops accepting, lets in-flight requests finish (bounded), flushes notifications, closes.
    await runner.cleanup()


def serve(config: Config, extensions=()) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    asyncio.run(_serve(config, extensions))
