"""Runs edihub's main job: the hub server (`python server.py [--config edihub.toml] [--host H] [--port P]`).

Reads edihub.toml, loads schemas, code tables, keys and routes once, starts the simulated national endpoints when
the configuration says demo_endpoints = true, and serves SOAP (/soap?wsdl) and the HTTP API (/docs) on
127.0.0.1:8080 by default.
"""
import sys

from routing.serve import main

if __name__ == "__main__":
    sys.exit(main())
