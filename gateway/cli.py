"""``imagegate serve --host H --port P`` (also ``python -m gateway``)."""

from __future__ import annotations

import argparse
import sys

from config import ConfigError, load_settings
from gateway.app import create_app
from gateway.server import serve as run_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imagegate", description="OpenAI-compatible image gateway")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="start the HTTP server (the default command)")
    serve.add_argument("--host", help="address to bind (default: HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT, else 8000)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        overrides = {name: value for name, value in (("host", args.host), ("port", args.port)) if value}
        settings = settings.model_copy(update=overrides)
        app = create_app(settings)
    except ConfigError as error:
        print(f"imagegate: configuration error: {error}", file=sys.stderr)
        return 2
    run_server(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
