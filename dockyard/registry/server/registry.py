"""The Registry object: the parts every handler needs, wired once by app.py."""
from dataclasses import dataclass

from dockyard.registry.server.access import Policy
from dockyard.registry.server.auth import Authenticator
from dockyard.registry.server.config import Config
from dockyard.registry.server.metrics import Metrics
from dockyard.registry.server.notify import Notifier
from dockyard.registry.server.storage import Storage
from dockyard.registry.server.uploads import Uploads


@dataclass
class Registry:
    config: Config
    storage: Storage
    uploads: Uploads
    policy: Policy
    auth: Authenticator
    notifier: Notifier
    metrics: Metrics

    @classmethod
    def build(cls, config: Config) -> "Registry":
        storage = Storage(config.storage)
        metrics = Metrics()
        policy = Policy(config.access, enforce=config.auth.kind != "none")
        return cls(config=config, storage=storage, uploads=Uploads(storage), policy=policy,
                   auth=Authenticator(config.auth, policy, storage.root),
                   notifier=Notifier(config.endpoints, metrics, config.listen), metrics=metrics)
