"""What the browser tests share: asking on the page, reading "How this was read", the widget's host page."""

from __future__ import annotations

from typing import Any


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, and wait for its answer to finish streaming; returns the turn."""
    before = page.locator("article.turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator("article.turn").nth(before)
    turn.locator("xpath=self::*[@data-complete='true']").wait_for()
    return turn


def ask_failing(page: Any, question: str) -> Any:
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator("article.turn").last
    turn.locator(".status.error").wait_for()
    return turn


def read_as(turn: Any) -> str:
    """Open the turn's "How this was read" and return what it says."""
    turn.locator(".readas-toggle").click()
    return str(turn.locator(".readas-detail").inner_text())


def widget_page(api: str, **data: str) -> str:
    attrs = " ".join(f'data-{k}="{v}"' for k, v in data.items())
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Clinic intranet</title>
<style>body {{ font: 16px Georgia, serif; margin: 2rem; color: #333; }} button {{ background: red; }}</style></head>
<body><h1>Clinic intranet</h1><p>Opening hours, rotas and the on-call list.</p>
<p><a href="#rota" id="host-link">This week's rota</a></p>
<script src="{api}/widget.js" {attrs}></script></body></html>"""
