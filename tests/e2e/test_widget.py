"""The widget (widget.js) on another origin: focus and Escape across its iframe, and short-lived tokens.

Screenshots go to tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.helpers import widget_page

ACTIVE = (
    "() => document.querySelector('#clinical-assistant-widget').shadowRoot.activeElement?.className || ''"
)
PANEL_OPEN = (
    "() => !document.querySelector('#clinical-assistant-widget').shadowRoot.querySelector('.panel').hidden"
)


def panel_frame(page: Any) -> Any:
    page.wait_for_function(
        "() => document.querySelector('#clinical-assistant-widget').shadowRoot.querySelector('iframe')"
    )
    for _ in range(200):
        frames = [f for f in page.frames if "embed=1" in f.url]
        if frames:
            frames[0].wait_for_load_state()  # its scripts have run: typing now reaches the page's handlers
            return frames[0]
        page.wait_for_timeout(25)
    raise AssertionError("the panel's frame did not load")


def focused_in(frame: Any) -> str:
    return str(
        frame.evaluate(
            "document.hasFocus() ? (document.activeElement.id || document.activeElement.tagName) : ''"
        )
    )


def test_widget_focus_and_escape_from_inside_the_panel(
    page: Any, api: str, other_origin: Callable[[str], int], artifacts: Path
) -> None:
    port = other_origin(widget_page(api, title="Ask the guidelines"))
    page.goto(f"http://127.0.0.1:{port}/")
    launcher = page.locator("#clinical-assistant-widget .launcher")
    launcher.focus()
    page.keyboard.press("Enter")  # opened from the keyboard: focus goes into the panel, to its question box
    frame = panel_frame(page)
    frame.wait_for_function("() => document.activeElement && document.activeElement.id === 'question'")
    assert page.evaluate(ACTIVE) == ""  # the shadow root's active element is the iframe (no class)
    assert page.evaluate(
        "document.querySelector('#clinical-assistant-widget').shadowRoot.activeElement.tagName"
    ) == ("IFRAME")
    page.keyboard.type("How is gout treated?")  # typed straight into the panel
    assert frame.input_value("#question") == "How is gout treated?"
    page.keyboard.press("Enter")
    frame.locator("article.turn[data-complete='true']").wait_for()

    # Escape inside the panel's source dialog closes the dialog first, focus back on its citation...
    frame.locator(".lead .cite").first.focus()
    page.keyboard.press("Enter")
    frame.locator("#source-panel blockquote.passage").wait_for()
    assert frame.evaluate("document.getElementById('source-panel').contains(document.activeElement)")
    page.screenshot(path=str(artifacts / "widget-source-dialog.png"))
    page.keyboard.press("Escape")
    assert frame.locator("#source-panel").is_hidden()
    assert page.evaluate(PANEL_OPEN)
    assert frame.evaluate("document.activeElement.className").startswith("cite")
    # ...and then the panel itself, focus back on the launcher
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => !({PANEL_OPEN})()")
    assert page.evaluate(ACTIVE) == "launcher"
    assert launcher.get_attribute("aria-expanded") == "false"

    page.keyboard.press("Enter")  # reopened (its page already loaded): focus goes straight back in
    frame.wait_for_function("() => document.hasFocus() && document.activeElement.id === 'question'")
    assert launcher.get_attribute("aria-expanded") == "true"
    page.locator("#clinical-assistant-widget .close").click()  # Close: the same
    assert page.evaluate(ACTIVE) == "launcher" and not page.evaluate(PANEL_OPEN)

    # Escape on the host page with focus elsewhere closes it but leaves focus where it was
    launcher.click()
    frame.wait_for_function("() => document.hasFocus() && document.activeElement.id === 'question'")
    page.locator("#host-link").focus()
    page.keyboard.press("Escape")
    assert not page.evaluate(PANEL_OPEN)
    assert page.evaluate("document.activeElement.id") == "host-link"


def test_widget_opened_by_the_page_does_not_take_focus(
    page: Any, api: str, other_origin: Callable[[str], int]
) -> None:
    port = other_origin(widget_page(api, open="true"))
    page.goto(f"http://127.0.0.1:{port}/")
    frame = panel_frame(page)
    frame.locator("#question").wait_for()
    assert page.evaluate(PANEL_OPEN)
    assert page.evaluate("document.activeElement === document.body")
    assert frame.locator("link[rel=icon]").get_attribute("href") == "/static/favicon.svg"


class TokenHost:
    """The host page's token URL (a route): mints a real token with the host's key, as the host's server would."""

    def __init__(self, api: str, key: str, expires_in: int, first: str | None = None) -> None:
        self.api, self.key, self.expires_in, self.first = api, key, expires_in, first
        self.served: list[str] = []
        self.cookies: list[str] = []

    def mint(self) -> str:
        request = urllib.request.Request(
            self.api + "/v1/widget/tokens",
            data=json.dumps({"ttl_s": 60, "subject": "host-session-1"}).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.load(response)["token"])

    def __call__(self, route: Any) -> None:
        assert route.request.method == "GET"
        self.cookies.append(route.request.headers.get("cookie", ""))
        token = self.first if self.first and not self.served else self.mint()
        self.served.append(token)
        body = json.dumps({"token": token, "expires_in": self.expires_in})
        route.fulfill(status=200, headers={"Content-Type": "application/json"}, body=body)


def asks(page: Any) -> list[tuple[str, int]]:
    """(Authorization, status) of each of the page's (its frames') ask requests, as they finish."""
    seen: list[tuple[str, int]] = []

    def on(response: Any) -> None:
        if "/v1/ask" in response.url:
            seen.append((response.request.headers.get("authorization", ""), response.status))

    page.on("response", on)
    return seen


def keyed_host(
    page: Any, serve_api: Callable[..., str], other_origin: Callable[[str], int], **tokens: Any
) -> tuple[str, TokenHost, int]:
    port = other_origin("")
    keyed = serve_api(api_keys=["host-secret-key"], cors_origins=[f"http://127.0.0.1:{port}"])
    other_origin(widget_page(keyed, **{"token-url": "/session/widget-token"}))
    host = TokenHost(keyed, "host-secret-key", **tokens)
    page.route(f"http://127.0.0.1:{port}/session/widget-token", host)
    page.context.add_cookies([{"name": "session", "value": "s-123", "url": f"http://127.0.0.1:{port}/"}])
    return keyed, host, port


def ask_in(frame: Any, question: str, nth: int) -> Any:
    frame.locator("body[data-ready='true']").wait_for()  # the frame's script has bound its handlers
    frame.fill("#question", question)
    frame.press("#question", "Enter")
    turn = frame.locator("article.turn").nth(nth)
    turn.locator("xpath=self::*[@data-complete='true']").wait_for()
    return turn


def test_widget_fetches_a_token_first_and_renews_it_before_it_expires(
    page: Any, serve_api: Callable[..., str], other_origin: Callable[[str], int]
) -> None:
    # expires_in says 2 s (the server's shortest token lives 60 s): the widget renews it within 2 s
    _, host, port = keyed_host(page, serve_api, other_origin, expires_in=2)
    seen = asks(page)
    page.goto(f"http://127.0.0.1:{port}/")
    assert host.served == []  # nothing fetched until the panel opens
    page.locator("#clinical-assistant-widget .launcher").click()
    frame = panel_frame(page)
    assert len(host.served) >= 1 and host.cookies[0] == "session=s-123"  # same-origin credentials
    turn = ask_in(frame, "How is gout treated?", 0)
    assert turn.locator(".references li").count() == 3
    assert seen[0] == (f"Bearer {host.served[0]}", 200)

    page.wait_for_timeout(2500)  # renewed shortly before "expiry"
    assert len(host.served) >= 2 and host.served[-1] != host.served[0]
    ask_in(frame, "How is it diagnosed?", 1)
    assert seen[-1] == (f"Bearer {host.served[-1]}", 200)
    assert all(auth.startswith("Bearer wt.") for auth, _ in seen)
    assert "host-secret-key" not in page.content()  # the host's real key never reaches the page
    assert frame.locator("#key-panel").is_hidden()


def test_widget_renews_its_token_after_a_401_and_the_question_goes_through(
    page: Any, serve_api: Callable[..., str], other_origin: Callable[[str], int]
) -> None:
    # the first token the host hands out is refused (expired, say): the panel asks for another and retries
    _, host, port = keyed_host(page, serve_api, other_origin, expires_in=600, first="wt.1.stale.x.y")
    seen = asks(page)
    page.goto(f"http://127.0.0.1:{port}/")
    page.locator("#clinical-assistant-widget .launcher").click()
    frame = panel_frame(page)
    turn = ask_in(frame, "How is gout treated?", 0)
    assert seen == [("Bearer wt.1.stale.x.y", 401), (f"Bearer {host.served[1]}", 200)]
    assert turn.locator(".lead").inner_text().startswith("Acute gout flares are treated")
    assert frame.locator("article.turn").count() == 1 and frame.locator("#key-panel").is_hidden()
    sources = frame.locator(".lead .cite").first
    sources.click()  # later requests carry the new token too
    frame.locator("#source-panel blockquote.passage").wait_for()
