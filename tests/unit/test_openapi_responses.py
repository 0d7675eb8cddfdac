"""The OpenAPI document lists, for every route, exactly the statuses the route's code can answer.

What a route can answer is read from its code: every `ApiError(status, ...)`, `error_response(status,
...)` and `status_code=...` in the route function, its dependencies and the gateway functions they
call, plus what FastAPI and the error handlers answer for any route (gateway/api/errors.py): 422 for a
parameter of the wrong type, 503 when the database, broker or storage is unavailable, 500 for a bug.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

import gateway.api.routes
from gateway.api.dependencies import gateway_state
from gateway.app import create_app
from imgpipe.config.settings import Settings

DOCUMENT = create_app(Settings()).openapi()
# Each module of gateway/api/routes has a `router`; the app includes them all.
ROUTES = [
    route
    for module in pkgutil.iter_modules(gateway.api.routes.__path__, "gateway.api.routes.")
    for route in importlib.import_module(module.name).router.routes
    if isinstance(route, APIRoute) and route.include_in_schema
]


def _called_functions(function: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """The gateway functions that `function` calls by name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = function.__globals__.get(node.func.id)
            if inspect.isfunction(called) and called.__module__.startswith("gateway."):
                yield called


def _answered_statuses(function: Callable[..., Any]) -> set[int]:
    status_arguments: list[ast.expr] = []
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in ("ApiError", "error_response"):
            status_arguments.append(node.args[0])
        status_arguments += [keyword.value for keyword in node.keywords if keyword.arg == "status_code"]
    return {
        argument.value
        for argument in status_arguments
        if isinstance(argument, ast.Constant) and isinstance(argument.value, int)
    }


def _reachable(route: APIRoute) -> set[Callable[..., Any]]:
    pending = [inspect.unwrap(route.endpoint)]
    pending += [dependency.call for dependency in route.dependant.dependencies if dependency.call]
    seen: set[Callable[..., Any]] = set()
    while pending:
        function = pending.pop()
        if function not in seen:
            seen.add(function)
            pending.extend(_called_functions(function))
    return seen


def _statuses_in_code(route: APIRoute) -> set[int]:
    functions = _reachable(route)
    statuses = {route.status_code or 200, 500}
    for function in functions:
        statuses |= _answered_statuses(function)
    dependant = route.dependant
    if dependant.path_params or dependant.query_params or dependant.body_params:
        statuses.add(422)
    if dependant.body_params:
        statuses.add(400)  # FastAPI: a body that cannot be parsed
    if gateway_state in functions:
        statuses.add(503)
    return statuses


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{sorted(route.methods)[0]} {route.path}")
def test_the_document_lists_every_status_the_route_answers_and_no_other(route: APIRoute) -> None:
    assert route.methods is not None
    (method,) = route.methods
    declared = {int(status) for status in DOCUMENT["paths"][route.path][method.lower()]["responses"]}
    assert declared == _statuses_in_code(route)


def test_every_error_status_has_an_error_body() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path != "/readyz":
                    schema = response["content"]["application/json"]["schema"]
                    assert "$ref" in schema or "anyOf" in schema, (method, path, status)
