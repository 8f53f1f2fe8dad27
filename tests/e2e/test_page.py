"""The chat page's behaviour: questions typed while an answer streams, cut-off streams, what is announced, the
audience, "How this was read", the favicon, the source dialog's focus and the phone's source sheet.

Screenshots go to tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import ask

STREAM = "**/v1/ask/stream"


def wait_until(page: Any, condition: Any, timeout_ms: int = 10_000) -> None:
    """Let Playwright run (its route handlers included) until `condition()` holds."""
    for _ in range(timeout_ms // 20):
        if condition():
            return
        page.wait_for_timeout(20)
    raise AssertionError("timed out waiting")


def test_a_question_typed_while_an_answer_streams_is_kept_and_sent_after(
    page: Any, api: str, artifacts: Path
) -> None:
    held: list[Any] = []  # the first answer is held back: it is "being written" until released
    asked: list[str] = []
    page.on(
        "request",
        lambda r: asked.append(r.post_data_json["question"]) if r.url.endswith("/v1/ask/stream") else None,
    )
    page.route(STREAM, lambda route: held.append(route) if not held else route.continue_())
    page.goto(api + "/")
    page.fill("#question", "How is gout treated?")
    page.press("#question", "Enter")
    wait_until(page, lambda: len(held) == 1)
    assert page.input_value("#question") == ""  # sent: the box is free for the next question

    page.locator("#question").press_sequentially("How is gout diagnosed?")
    page.press("#question", "Enter")  # while the answer is being written: kept, and queued
    page.click("#send")  # pressed again: still kept, still queued once
    assert page.input_value("#question") == "How is gout diagnosed?"
    assert page.locator("#queued").inner_text() == "Your question will be sent when this answer finishes."
    page.screenshot(path=str(artifacts / "queued-question.png"))
    assert asked == ["How is gout treated?"]

    held[0].continue_()
    second = page.locator("article.turn").nth(1)
    second.locator("xpath=self::*[@data-complete='true']").wait_for()
    assert page.locator("article.turn").nth(0).get_attribute("data-complete") == "true"
    assert second.locator(".bubble.user").inner_text() == "How is gout diagnosed?"
    assert page.input_value("#question") == "" and page.locator("#queued").inner_text() == ""
    assert asked == ["How is gout treated?", "How is gout diagnosed?"]


def test_text_typed_during_an_answer_is_never_overwritten_or_dropped(page: Any, api: str) -> None:
    held: list[Any] = []
    page.route(STREAM, lambda route: held.append(route) if len(held) < 2 else route.continue_())
    page.goto(api + "/")
    page.fill("#question", "How is gout treated?")
    page.press("#question", "Enter")
    wait_until(page, lambda: len(held) == 1)
    held[0].continue_()
    first = page.locator("article.turn").first
    first.locator("xpath=self::*[@data-complete='true']").wait_for()
    first.locator(".followup").first.click()  # a second answer is being written...
    wait_until(page, lambda: len(held) == 2)
    page.locator("#question").press_sequentially("and in children")  # ...while the person types, not sending
    first.locator(".followup").nth(1).click()  # a follow-up clicked now does not overwrite their words
    assert page.input_value("#question") == "and in children"
    assert page.locator("#queued").inner_text() == ""
    held[1].continue_()
    page.locator("article.turn").nth(1).locator("xpath=self::*[@data-complete='true']").wait_for()
    assert page.input_value("#question") == "and in children"  # still there, not sent
    assert page.locator("article.turn").count() == 2


def truncated(cut_at: str, within: int = 0) -> Any:
    """A route handler: the real stream, cut just before `cut_at` (plus `within` characters of it)."""

    def handle(route: Any) -> None:
        body = route.fetch().text()
        assert "event: done" in body
        end = body.index(cut_at) + within
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body[:end])

    return handle


@pytest.mark.parametrize(
    ("cut_at", "within"),
    [("event: done", 0), ("event: references", 0), ("event: sentence", 40)],
    ids=["before-done", "before-references", "mid-sentence"],
)
def test_a_stream_cut_before_done_is_shown_as_incomplete_with_a_retry(
    page: Any, api: str, artifacts: Path, cut_at: str, within: int
) -> None:
    page.route(STREAM, truncated(cut_at, within))
    page.goto(api + "/")
    page.fill("#question", "How is gout treated?")
    page.press("#question", "Enter")
    turn = page.locator("article.turn").first
    notice = turn.locator(".notice[role=alert]")
    notice.wait_for()
    assert notice.inner_text().startswith("The answer was cut off before it finished")
    assert "try again" in notice.inner_text().lower()
    assert turn.get_attribute("data-complete") is None and turn.get_attribute("data-incomplete") == "true"
    page.screenshot(path=str(artifacts / f"cut-off-{cut_at.split()[-1]}-{within}.png"))

    page.unroute(STREAM)
    notice.get_by_role("button", name="Try again").click()
    again = page.locator("article.turn").first
    again.locator("xpath=self::*[@data-complete='true']").wait_for()
    assert page.locator("article.turn").count() == 1  # the cut answer made way for the full one
    assert again.locator(".lead").inner_text().startswith("Acute gout flares are treated")
    assert again.locator(".notice").count() == 0


def test_only_the_answer_being_written_is_announced(page: Any, api: str) -> None:
    held: list[Any] = []
    page.route(STREAM, lambda route: held.append(route) if len(held) < 2 else route.continue_())
    page.goto(api + "/")
    assert page.locator("#log").get_attribute("aria-live") is None
    page.fill("#question", "How is gout treated?")
    page.press("#question", "Enter")
    wait_until(page, lambda: len(held) == 1)
    turn = page.locator("article.turn").first
    assert turn.locator(".status[role=status]").inner_text() == "Searching the sources…"
    # while it is written, its text is the one live region (besides the role=status notes)
    live = page.evaluate("[...document.querySelectorAll('[aria-live]')].map(e => e.className)")
    assert live == ["answer-text"]
    held[0].continue_()
    turn.locator("xpath=self::*[@data-complete='true']").wait_for()
    assert page.locator("[aria-live]").count() == 0  # finished: nothing of it is live any more
    inside_live = (
        """els => els.filter(e => e.closest('[aria-live], [role=status], [role=log], [role=alert]')).length"""
    )
    for selector in (".references", ".followups", ".disclaimer", ".bubble"):
        assert page.locator(selector).count() >= 1
        assert page.locator(selector).evaluate_all(inside_live) == 0, selector

    page.fill("#question", "How is it diagnosed?")
    page.press("#question", "Enter")
    wait_until(page, lambda: len(held) == 2)
    live = page.evaluate(
        "[...document.querySelectorAll('[aria-live]')].map(e => e.closest('article') === e.closest('#log').lastElementChild)"
    )
    assert live == [True]  # the new turn's text, not the earlier turn's
    held[1].continue_()
    page.locator("article.turn").nth(1).locator("xpath=self::*[@data-complete='true']").wait_for()


def test_the_audience_is_chosen_remembered_and_sent_with_every_question(
    page: Any, api: str, artifacts: Path
) -> None:
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if "/v1/ask" in r.url else None)
    page.goto(api + "/")
    ask(page, "How is gout treated?")
    assert bodies[-1]["audience"] == "clinician"  # the default

    page.click("#toggle-filters")
    group = page.get_by_role("group", name="Which best describes you?")
    assert group.is_visible()
    assert page.get_by_label("Clinician").is_checked()
    page.get_by_label("Patient or carer").check()
    patient = ask(page, "How is it diagnosed?")
    assert bodies[-1]["audience"] == "patient" and bodies[-1]["conversation_id"]
    assert (
        patient.locator(".disclaimer").inner_text().startswith("This information is quoted from the sources")
    )
    page.screenshot(path=str(artifacts / "patient-answer.png"))
    page.locator("article.turn").last.locator(".followup").first.click()  # follow-up buttons send it too
    page.locator("article.turn").nth(2).locator("xpath=self::*[@data-complete='true']").wait_for()
    assert bodies[-1]["audience"] == "patient"

    page.reload()  # remembered (localStorage)
    page.click("#toggle-filters")
    assert page.get_by_label("Patient or carer").is_checked()
    ask(page, "How is gout treated?")
    assert bodies[-1]["audience"] == "patient"
    assert page.evaluate("localStorage.getItem('assistant-audience')") == "patient"
    page.get_by_label("Clinician").check()
    ask(page, "How is asthma treated?")
    assert bodies[-1]["audience"] == "clinician"
    assert {b["audience"] for b in bodies} <= {"clinician", "patient"} and len(bodies) == 5


def rewrite_meta(change: Any) -> Any:
    """A route handler: the real stream with its `meta` event's data passed through `change`."""

    def handle(route: Any) -> None:
        blocks = route.fetch().text().split("\n\n")
        for i, block in enumerate(blocks):
            if block.startswith("event: meta\n"):
                head, data = block.split("\ndata: ", 1)
                blocks[i] = head + "\ndata: " + json.dumps(change(json.loads(data)))
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body="\n\n".join(blocks))

    return handle


def test_how_this_was_read_is_shown_on_demand(page: Any, api: str, artifacts: Path) -> None:
    page.goto(api + "/")
    turn = ask(page, "gout treatmnet")  # one edit from the library's "treatment"
    assert turn.locator(".status").inner_text() == "" and "Searched for" not in turn.inner_text()
    toggle = turn.get_by_role("button", name="How this was read")
    detail = turn.locator(".readas-detail")
    assert toggle.get_attribute("aria-expanded") == "false" and not detail.is_visible()
    assert toggle.get_attribute("aria-controls") == detail.get_attribute("id")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true" and detail.is_visible()
    lines = detail.locator("p").all_inner_texts()
    assert lines[0] == "Read as: gout treatment"
    assert lines[1] == 'Understood: "treatmnet" read as "treatment"'
    page.screenshot(path=str(artifacts / "how-this-was-read.png"))
    toggle.click()
    assert not detail.is_visible()

    # a server without read_as: the resolved query stands in
    page.route(STREAM, rewrite_meta(lambda m: {k: v for k, v in m.items() if k != "read_as"}))
    follow = ask(page, "How is it diagnosed?")
    follow.get_by_role("button", name="How this was read").click()
    assert follow.locator(".readas-detail").inner_text() == "Read as: How is it diagnosed? Gout"


def test_the_favicon_is_served_and_nothing_404s(page: Any, api: str) -> None:
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(api + "/")
    ask(page, "How is gout treated?")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href == "/static/favicon.svg"
    icon = page.request.get(api + href)
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text().startswith("<svg")
    assert page.request.get(api + "/?embed=1").text().count('rel="icon"') == 1  # the widget's panel page
    assert failed == []


def test_the_source_dialog_takes_focus_and_gives_it_back(page: Any, api: str) -> None:
    page.goto(api + "/")
    turn = ask(page, "How is gout treated?")
    cite = turn.locator(".lead .cite").first
    cite.focus()
    page.keyboard.press("Enter")
    page.locator("#source-panel blockquote.passage").wait_for()
    dialog = page.get_by_role("dialog", name="Source 1")
    assert dialog.is_visible()
    assert page.evaluate("document.getElementById('source-panel').contains(document.activeElement)")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Show source 1"
    assert cite.evaluate("b => b === document.activeElement")

    turn.locator("li .cite").first.click()  # and from the Close button
    page.locator("#source-panel blockquote.passage").wait_for()
    assert page.evaluate("document.activeElement.id") == "source-title"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "close-source"
    page.keyboard.press("Enter")
    assert page.locator("#source-panel").is_hidden()
    assert turn.locator("li .cite").first.evaluate("b => b === document.activeElement")


def lengthened(route: Any) -> None:
    """A route handler for /v1/sources/: the real passage behind a long preamble, so the cited sentence is far down."""
    response = route.fetch()
    data = response.json()
    preamble = " ".join(
        f"Background sentence {i} on the condition, its course and its care." for i in range(40)
    )
    data["text"] = preamble + " " + data["text"]
    route.fulfill(response=response, body=json.dumps(data), headers={"Content-Type": "application/json"})


def box_of(page: Any, selector: str) -> dict[str, float]:
    return dict(page.locator(selector).first.bounding_box())


def test_phone_source_sheet_shows_the_sentence_and_leaves_the_filters_usable(
    phone: Any, api: str, artifacts: Path
) -> None:
    phone.route("**/v1/sources/**", lengthened)
    phone.goto(api + "/")
    phone.locator("#toggle-filters").tap()
    turn = ask(phone, "How is gout treated?")
    phone.evaluate("window.scrollTo(0, 0)")  # the filters and the start of the answer on screen
    cite = turn.locator(".lead .cite").first
    sentence = cite.locator("xpath=..").inner_text().rsplit(" ", 1)[0].strip()
    cite.tap()
    phone.locator("#source-panel mark").wait_for()
    assert phone.locator("#source-panel mark").inner_text() == sentence
    phone.screenshot(path=str(artifacts / "phone-source-with-filters.png"))

    sheet, head, mark = (
        box_of(phone, "#source-panel"),
        box_of(phone, ".sheet-head"),
        box_of(phone, "#source-panel mark"),
    )
    assert phone.evaluate("document.getElementById('source-panel').scrollTop") > 0  # it had to scroll to it
    assert mark["y"] >= head["y"] + head["height"] - 1  # below the sheet's head...
    assert mark["y"] + mark["height"] <= sheet["y"] + sheet["height"] + 1  # ...and above its bottom edge
    filters = box_of(phone, "#filters")
    assert sheet["y"] >= filters["y"] + filters["height"]  # the sheet starts below the filters
    assert sheet["x"] >= 0 and sheet["x"] + sheet["width"] <= 390

    # the filters stay usable while the sheet is open (a tap that something covered would fail here)
    phone.locator("input[value=guideline]").tap()
    assert phone.locator("input[value=guideline]").is_checked()
    phone.get_by_label("Patient or carer").tap()
    phone.locator("#year-min").tap()
    phone.keyboard.type("2019")
    assert phone.locator("#filter-summary").inner_text() == "Only: Guideline; 2019–…"
    assert phone.locator("#source-panel").is_visible()

    phone.locator("#toggle-filters").tap()  # the filters closed: the sheet grows towards the top bar
    phone.wait_for_function(
        f"() => document.getElementById('source-panel').getBoundingClientRect().top < {sheet['y']}"
    )
    bar = box_of(phone, ".bar")
    assert box_of(phone, "#source-panel")["y"] >= bar["y"] + bar["height"]
    phone.locator("#close-source").tap()
    assert phone.locator("#source-panel").is_hidden()
