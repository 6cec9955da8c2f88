"""Sync core, async edge: no admin API handler opens a database session on the event loop;
each calls a back-office service in a thread (idp.domain.back_office)."""

from __future__ import annotations

import ast
from pathlib import Path

ADMIN_API = Path(__file__).resolve().parents[2] / "idp" / "admin_api"
SESSIONS = {"read", "session"}  # idp.storage.db.Database's two ways in


def _on_the_loop(function: ast.AsyncFunctionDef) -> list[ast.AST]:
    """The handler's own code: not the functions it defines, which it may run in a thread."""
    found: list[ast.AST] = []
    waiting: list[ast.AST] = list(function.body)
    while waiting:
        node = waiting.pop()
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found.append(node)
            waiting.extend(ast.iter_child_nodes(node))
    return found


def _sessions_opened(function: ast.AsyncFunctionDef) -> list[int]:
    return [
        node.lineno
        for node in _on_the_loop(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SESSIONS
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "db"
    ]


def test_no_handler_opens_a_database_session_on_the_event_loop() -> None:
    found = [
        f"{path.name}:{line} in {node.name}"
        for path in sorted(ADMIN_API.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.AsyncFunctionDef)
        for line in _sessions_opened(node)
    ]
    assert found == [], "call a service with run_in_threadpool instead:\n" + "\n".join(found)
