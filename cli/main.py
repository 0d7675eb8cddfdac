"""`imgpipe`: submit a CSV and watch it, ask for a status, download a result, or run a service.

Exit codes, for scripts: 0 completed (or, for `status`, still running), 1 completed with errors,
2 rejected, failed, or not reachable.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.api import ApiProblem, GatewayClient
from cli.queue_note import queue_note
from cli.services import SERVICES, run_service
from imgpipe.contract.messages import RequestStatus

DEFAULT_URL = "http://127.0.0.1:8000"
EXIT_COMPLETED, EXIT_COMPLETED_WITH_ERRORS, EXIT_REJECTED_OR_FAILED = 0, 1, 2
_EXIT_BY_STATUS = {
    RequestStatus.COMPLETED: EXIT_COMPLETED,
    RequestStatus.COMPLETED_WITH_ERRORS: EXIT_COMPLETED_WITH_ERRORS,
    RequestStatus.FAILED: EXIT_REJECTED_OR_FAILED,
}

# Progress and problems go to stderr, so that stdout carries only what a script would capture.
errors = Console(stderr=True)


def _show_problem(problem: ApiProblem) -> None:
    errors.print(f"[bold red]{problem.code}[/]: {problem.message}")
    for item in problem.body.get("problems", []):
        where = f"line {item['line']}" if item.get("line") is not None else "the file"
        column = f", {item['column']}" if item.get("column") else ""
        errors.print(f"  {where}{column}: {item['message']}")


def _watch(client: GatewayClient, request_id: str) -> dict[str, Any]:
    """Follow the status event stream with a progress bar; return the final status."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("images"),
        TimeElapsedColumn(),
    )
    final: dict[str, Any] = {}
    with Progress(*columns, console=errors, transient=False) as progress:
        task = progress.add_task("queued", total=None)  # the first event brings the total
        for status in client.status_events(request_id):
            images = status["images"]
            note = queue_note(status.get("queue"), datetime.now(UTC))
            progress.update(
                task,
                description=f"{status['status']} ({note})" if note else status["status"],
                total=images["total"],
                completed=images["done"] + images["failed"],
            )
            final = status
    return final


def _summary(status: dict[str, Any]) -> str:
    rows, images = status["rows"], status["images"]
    return (
        f"{status['status']}: {rows['done']}/{rows['total']} rows done ({rows['failed']} failed), "
        f"{images['done']}/{images['total']} images done ({images['failed']} failed)"
    )


def submit(client: GatewayClient, csv_path: Path, wait: bool, out: Path | None, presets: list[str]) -> int:
    accepted = client.upload(csv_path, presets)
    request_id = accepted["request_id"]
    print(request_id)
    if not wait and out is None:
        errors.print(f"accepted; follow it with: imgpipe status {request_id}")
        return EXIT_COMPLETED
    final = _watch(client, request_id)
    errors.print(_summary(final))
    if final.get("status") not in _EXIT_BY_STATUS:
        errors.print("[bold red]the status stream ended before the request finished[/]")
        return EXIT_REJECTED_OR_FAILED
    if final["status"] != RequestStatus.FAILED:
        destination = out or csv_path.with_name(f"{csv_path.stem}-output.csv")
        client.download(request_id, destination)
        errors.print(f"output CSV saved to {destination}")
    return _EXIT_BY_STATUS[final["status"]]


def status(client: GatewayClient, request_id: str) -> int:
    body = client.status(request_id)
    print(json.dumps(body, indent=2))
    note = queue_note(body.get("queue"), datetime.now(UTC))
    if note:
        errors.print(note, soft_wrap=True, markup=False, highlight=False)
    return _EXIT_BY_STATUS.get(body["status"], EXIT_COMPLETED)


ROW_COLUMNS = ("Row", "S. No.", "Product Name", "Status", "Outputs")


def _output_cell(image: dict[str, Any]) -> str:
    if image["output_url"]:
        return str(image["output_url"])
    # A pending image leaves its place empty, so the n-th entry still belongs to the n-th input.
    return str(image["error"]["code"]) if image["error"] else ""


def _page_note(client: GatewayClient, request_id: str, page: dict[str, Any], shown: int) -> str:
    first, last, total = page["offset"] + 1, page["offset"] + shown, page["total"]
    if shown == 0:
        return f"no rows at offset {page['offset']} (of {total})"
    if page["next_url"] is None:
        return f"rows {first} to {last} of {total} (the last page)"
    # The gateway's next_url is for HTTP clients; a person at a shell wants the command.
    command = f"imgpipe status {request_id} --rows --offset {last} --limit {page['limit']}"
    if client.base_url != DEFAULT_URL:
        command += f" --url {client.base_url}"
    return f"rows {first} to {last} of {total}; next page: {command}"


def status_rows(client: GatewayClient, request_id: str, offset: int, limit: int | None) -> int:
    """One page of rows as CSV on stdout (quoted, since product names may hold commas and line
    breaks); the counts and where the page sits on stderr."""
    body = client.status_with_rows(request_id, offset, limit)
    errors.print(_summary(body), soft_wrap=True)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(ROW_COLUMNS)
    for row in body["row_details"]:
        outputs = ",".join(_output_cell(image) for image in row["images"])
        # Rows are counted from 1 here, as in the "rows 1 to 100 of N" line and on the web page.
        writer.writerow((row["row"] + 1, row["serial_number"], row["product_name"], row["status"], outputs))
    note = _page_note(client, request_id, body["row_page"], len(body["row_details"]))
    errors.print(note, soft_wrap=True, markup=False, highlight=False)
    return _EXIT_BY_STATUS.get(body["status"], EXIT_COMPLETED)


def download(client: GatewayClient, request_id: str, out: Path | None) -> int:
    destination = out or Path(f"imgpipe-{request_id}.csv")
    client.download(request_id, destination)
    errors.print(f"output CSV saved to {destination}")
    return EXIT_COMPLETED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgpipe", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def client_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--url", default=DEFAULT_URL, help="the gateway's base URL")
        command.add_argument("--api-key", help="the API key, when the gateway requires one")
        return command

    submit_command = client_command("submit", "upload a CSV; --wait follows it and saves the output")
    submit_command.add_argument("file", type=Path)
    submit_command.add_argument("--wait", action="store_true", help="show progress until it finishes")
    submit_command.add_argument("--out", type=Path, help="where to save the output CSV (implies --wait)")
    submit_command.add_argument(
        "--preset",
        action="append",
        default=[],
        dest="presets",
        help="also make this preset's variant of every image (repeat for several; the gateway's "
        "GET /presets lists them)",
    )
    status_command = client_command(
        "status", "print a request's status as JSON; --rows prints one page of its rows as CSV"
    )
    status_command.add_argument("request_id")
    status_command.add_argument("--rows", action="store_true", help="print one page of row details")
    status_command.add_argument(
        "--offset", type=int, help="rows to skip before the page (default 0; implies --rows)"
    )
    status_command.add_argument(
        "--limit", type=int, help="rows in the page, 1 to 5000 (default 500; implies --rows)"
    )
    download_command = client_command("download", "save a finished request's output CSV")
    download_command.add_argument("request_id")
    download_command.add_argument("--out", type=Path)
    for name in SERVICES:
        commands.add_parser(name, help=f"run the {name} service in this process")
    migrate_command = commands.add_parser(
        "migrate", help="apply the stored layout's pending migrations (the aggregator does at start)"
    )
    migrate_command.add_argument(
        "--dry-run", action="store_true", help="print what would be migrated and change nothing"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in SERVICES:
        run_service(args.command)
        return EXIT_COMPLETED
    if args.command == "migrate":
        from cli.migrate import run_migrate  # loads the database driver: only when asked for

        return run_migrate(args.dry_run)
    client = GatewayClient(args.url.rstrip("/"), args.api_key)
    try:
        if args.command == "submit":
            return submit(client, args.file, args.wait, args.out, args.presets)
        if args.command == "status":
            if args.rows or args.offset is not None or args.limit is not None:
                return status_rows(client, args.request_id, args.offset or 0, args.limit)
            return status(client, args.request_id)
        return download(client, args.request_id, args.out)
    except ApiProblem as problem:
        _show_problem(problem)
        return EXIT_REJECTED_OR_FAILED
    except (httpx.HTTPError, OSError) as error:
        errors.print(f"[bold red]cannot reach {args.url}[/]: {error}")
        return EXIT_REJECTED_OR_FAILED


def entry_point() -> None:
    sys.exit(main())
