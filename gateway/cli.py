"""``imagegate [serve] [--host H] [--port P] [--workers N]``, ``imagegate check [--probe]``, ``imagegate --version``.

``serve`` is the default command. ``check`` reads the configuration as a start
would, prints the summary and every warning, and exits 0 (usable) or 2 (an
error); ``--probe`` also makes one cheap call per vendor group with each key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from importlib.metadata import version

from config import ConfigError, Settings, load_settings
from gateway.app import create_app
from gateway.probe import probe_groups
from gateway.server import serve as run_server
from gateway.startup import log_start, summary, warnings


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"imagegate: configuration error: {error}", file=sys.stderr)
        return 2
    given = (("host", args.host), ("port", args.port), ("workers", args.workers))
    settings = settings.model_copy(update={name: value for name, value in given if value})
    if settings.workers > 1 and settings.redis_url is None:
        print(
            f"imagegate: configuration error: --workers {settings.workers} needs REDIS_URL: without shared state each"
            " worker would rotate and cool the vendor keys on its own (set REDIS_URL, or run one worker)",
            file=sys.stderr,
        )
        return 2
    try:
        app = create_app(settings)  # the checks that need the whole picture (auth on a public address)
    except ConfigError as error:
        print(f"imagegate: configuration error: {error}", file=sys.stderr)
        return 2
    if args.command == "check":
        return check(settings, probe=args.probe)
    log_start(settings)
    run_server(app, settings)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="imagegate", description="OpenAI-compatible image gateway")
    root.add_argument("--version", action="version", version=f"imagegate {version('imagegate')}")
    root.set_defaults(command="serve", host=None, port=None, workers=None, probe=False)
    commands = root.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="start the HTTP server (the default command)")
    serve.add_argument("--host", help="address to bind (default: HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT, else 8000)")
    serve.add_argument(
        "--workers", type=int, help="processes serving the port (default: WORKERS, else 1; >1 needs REDIS_URL)"
    )
    check_command = commands.add_parser("check", help="validate the configuration, print what is in effect, exit")
    check_command.add_argument("--probe", action="store_true", help="also call each vendor group once per key")
    return root


def check(settings: Settings, *, probe: bool) -> int:
    """Print the summary and the warnings (and the probe's findings); 0 when the configuration is usable."""
    print(json.dumps(summary(settings), indent=2))
    for warning in warnings(settings):
        print(f"warning: {warning}")
    if probe:
        for line in asyncio.run(probe_groups(settings)):
            print(line)
    print("configuration ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
