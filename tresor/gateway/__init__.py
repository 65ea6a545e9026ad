"""The gateway: HTTP servers (server.py) and, in later modules, routing, pipeline and upstream I/O."""
