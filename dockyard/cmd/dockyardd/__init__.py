"""`dockyardd` (also `dockyard daemon`, `python -m dockyard.cmd.dockyardd`): the daemon's command and wiring."""
from .command import daemon_command, main

__all__ = ["daemon_command", "main"]
