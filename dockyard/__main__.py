from .cmd.dockyard import main

main()
