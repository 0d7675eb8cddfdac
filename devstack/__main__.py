"""`python -m devstack up|down|logs`: the local stack behind `make up`, `make down`, `make logs`."""

from __future__ import annotations

import argparse
import os
import sys

from devstack.paths import StackPaths
from devstack.ports import PortInUse
from devstack.settings import LocalPorts, point_at_local_servers
from devstack.stack import down, start_infrastructure, up
from devstack.waiting import NotReady


def main() -> None:
    try:
        _run_command()
    except (NotReady, PortInUse) as error:
        sys.exit(str(error))  # a message for `make up`, not a traceback


def _run_command() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    up_command = commands.add_parser("up", help="start everything (idempotent)")
    up_command.add_argument("--processors", type=int, default=2)
    commands.add_parser("infra", help="start only Kafka and the database")
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("logs", help="follow every service's log")
    args = parser.parse_args()
    settings, servers = point_at_local_servers(LocalPorts())
    if args.command == "up":
        url = up(settings, servers, args.processors)
        print(f"imgpipe is up: {url}")
    elif args.command == "infra":
        start_infrastructure(settings, servers, StackPaths(settings.state_dir))
    elif args.command == "down":
        stopped = down(settings)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    else:
        logs = sorted(str(p) for p in StackPaths(settings.state_dir).logs.glob("*.log"))
        if not logs:
            sys.exit("no logs yet: run `make up` first")
        os.execvp("tail", ["tail", "-n", "20", "-F", *logs])


if __name__ == "__main__":
    main()
