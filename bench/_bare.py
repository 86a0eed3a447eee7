"""A bare Flask endpoint served exactly as ``riado serve`` serves Riadó, for bench/api.py.

    .venv/bin/python bench/_bare.py [--host H] [--port P] [--workers N] [--threads N]

``GET /bare`` answers a small JSON document and does nothing else: no database, no sign-in,
no security headers. The server is incident/server.py's own ``serve()`` (the same gunicorn
options: gthread workers, threads, timeouts, access log on stdout), with only the application
it loads replaced, so that the difference to Riadó's figures is Riadó's work per request.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # runnable as a plain script from any folder

from flask import Flask, jsonify  # noqa: E402

app = Flask(__name__)


@app.get("/bare")
def bare():
    return jsonify(items=[], total=0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--workers", type=int, default=2)  # riado serve's defaults
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)

    from incident import server

    class BareServer(server.RiadoServer):
        def load(self):
            return app

    # serve() builds its gunicorn options and instantiates the module's RiadoServer: swapping the
    # class keeps those options as they are, whatever they become.
    server.RiadoServer = BareServer
    server.serve(args.host, args.port, args.workers, args.threads)


if __name__ == "__main__":
    main()
