from dockyard.registry.server.cli import registry

if __name__ == "__main__":
    registry(prog_name="dockyard registry")
