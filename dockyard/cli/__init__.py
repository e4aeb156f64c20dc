"""The `dockyard` command: docker's verbs, flags, tables and exit codes over the Engine API."""
