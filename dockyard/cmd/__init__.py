"""The commands: composition roots above every other package (moby's cmd/). `dockyardd` wires the stores,
services and API app of the daemon; `dockyard` is the CLI with the daemon and the registry (with its Hub)
attached as subcommands. Nothing below imports from here."""
