"""The chat page and the widget in headless Chromium: questions, follow-ups, citations, XSS, phone, CORS, keys.

Screenshots go to tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import PHONE
from tests.e2e.helpers import ask, ask_failing, read_as, widget_page


def test_question_follow_up_and_citation(page: Any, api: str, artifacts: Path) -> None:
    page.goto(api + "/")
    first = ask(page, "How is gout treated?")
    assert first.locator(".lead").inner_text().startswith("Acute gout flares are treated")
    badges = first.locator(".references .badge").all_inner_texts()
    assert [b.lower() for b in badges] == ["guideline", "review", "research"]  # CSS upper-cases them
    assert first.locator(".references li").first.locator("a").get_attribute("href") == (
        "https://example.org/gout-guideline"
    )
    guideline = first.locator(".references li").first
    assert guideline.locator(".review.approved").inner_text() == "Approved"
    assert guideline.locator(".review.approved").get_attribute("title") == "Reviewed by Dr Test, 2025-01-10"
    assert "updated 2024-03-01" in guideline.inner_text()
    assert (
        first.locator(".references .dated").inner_text()
        == "Last updated: 2024-03-01 (the newest cited source)"
    )
    followups = first.locator(".followup").all_inner_texts()
    assert "How can gout be prevented?" in followups
    assert "Decision support for healthcare professionals" in first.locator(".disclaimer").inner_text()

    second = ask(page, "How is it diagnosed?")
    assert second.locator(".status").inner_text() == ""  # nothing technical until asked for
    assert read_as(second) == "Read as: How is gout diagnosed"
    cite = second.locator("li .cite").first
    sentence = cite.locator("xpath=..").inner_text().rsplit(" ", 1)[0].strip()
    cite.click()
    panel = page.locator("#source-panel")
    panel.locator("blockquote.passage").wait_for()
    assert panel.locator("mark").inner_text() == sentence
    assert panel.locator(".source-doc strong").inner_text()
    page.screenshot(path=str(artifacts / "desktop-conversation-with-source.png"), full_page=False)

    assert page.dialogs == []


def test_about_these_sources_lists_the_coverage(page: Any, api: str, artifacts: Path) -> None:
    page.goto(api + "/")
    page.click("#toggle-about")
    rows = page.locator("#about-topics tbody tr")
    rows.first.wait_for()
    # the XSS fixture corpus: 5 documents on 3 topics (Asthma, Gout, Hypertension), published 2018-2022
    assert page.locator("#about-summary").inner_text() == (
        "5 sources (2 guideline, 1 research, 2 review) on 3 topics, published 2018–2022; newest 2024-03-01."
    )
    assert rows.first.locator("td").all_inner_texts() == ["Asthma", "1", "Guideline", "2022"]
    page.screenshot(path=str(artifacts / "coverage.png"))


def test_follow_up_button_and_new_conversation(page: Any, api: str) -> None:
    page.goto(api + "/")
    first = ask(page, "How is gout treated?")
    button = first.locator(".followup", has_text="How can gout be prevented?")
    button.click()
    page.locator("article.turn").nth(1).locator("xpath=self::*[@data-complete='true']").wait_for()
    assert (
        page.locator("article.turn").nth(1).locator(".bubble.user").inner_text()
        == "How can gout be prevented?"
    )
    page.click("#new-conversation")
    assert page.locator("article.turn").count() == 0 and page.locator("#welcome").is_visible()
    fresh = ask(page, "How is it diagnosed?")  # no conversation any more: nothing to carry
    assert read_as(fresh) == "Read as: How is it diagnosed"


def test_filters_restrict_the_sources(page: Any, api: str) -> None:
    page.goto(api + "/")
    page.click("#toggle-filters")
    page.check("input[value=guideline]")
    assert page.locator("#filter-summary").inner_text() == "Only: Guideline"
    turn = ask(page, "How is gout treated?")
    badges = turn.locator(".references .badge").all_inner_texts()
    assert badges and {b.lower() for b in badges} == {"guideline"}
    page.fill("#year-min", "2021")
    page.dispatch_event("#year-min", "change")
    turn = ask(page, "How is asthma treated?")  # the gout guideline is from 2020, the asthma one from 2022
    titles = turn.locator(".references .ref-title").all_inner_texts()
    assert titles == ["Test guideline on asthma"]
    page.fill("#year-min", "2030")  # nothing is that new: the answer says so, not "the sources do not answer"
    page.dispatch_event("#year-min", "change")
    turn = ask(page, "How is asthma treated?")
    assert turn.locator(".abstained").inner_text().startswith("No source matches these filters")
    page.locator("#year-max").press_sequentially("2020")  # typed: the summary follows each key
    assert page.locator("#filter-summary").inner_text().startswith("The 'from' year is after the 'to' year")


def test_passage_markup_renders_as_text(page: Any, api: str, artifacts: Path) -> None:
    page.goto(api + "/")
    turn = ask(page, "When should colchicine be started for gout flares?")
    lead = turn.locator(".lead").inner_text()
    assert "<script>window.pwned = true;</script>" in lead
    assert "<img src=x onerror=" in turn.inner_text()
    refs = turn.locator(".references").inner_text()
    assert "Gout note <img src=x onerror=alert(1)>" in refs
    assert "Test <script>window.pwned=1</script> Press" in refs
    turn.locator(".lead .cite").first.click()
    page.locator("#source-panel blockquote.passage").wait_for()
    assert "<script>window.pwned = true;</script>" in page.locator("#source-panel").inner_text()
    page.screenshot(path=str(artifacts / "xss-passage-as-text.png"))
    assert page.evaluate("window.pwned") is None
    assert page.locator("#log img, #source-panel img").count() == 0
    assert page.locator("#log script, #source-panel script").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0  # the digest's javascript: URL is not linked
    assert page.dialogs == []


def test_phone_layout_fits_the_screen(browser: Any, api: str, artifacts: Path) -> None:
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, reduced_motion="reduce"
    )
    page = context.new_page()
    page.goto(api + "/")
    turn = ask(page, "How is gout treated?")
    page.evaluate("window.scrollTo(0, 0)")  # the question and the start of its answer
    page.screenshot(path=str(artifacts / "phone-answer.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    turn.locator(".lead .cite").first.tap()
    page.locator("#source-panel blockquote.passage").wait_for()
    box = page.locator("#source-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=str(artifacts / "phone-source.png"))
    context.close()


def test_widget_on_another_origin(
    page: Any, api: str, other_origin: Callable[[str], int], artifacts: Path
) -> None:
    port = other_origin(widget_page(api, title="Ask the guidelines"))
    page.goto(f"http://127.0.0.1:{port}/")
    launcher = page.locator("#clinical-assistant-widget .launcher")
    assert launcher.inner_text() == "Ask the guidelines"
    launcher.click()
    frame = page.frame_locator("#clinical-assistant-widget iframe")
    frame.locator(
        "body[data-ready='true']"
    ).wait_for()  # a frame made on click: its script may still be loading
    frame.locator("#question").fill("How is gout treated?")
    frame.locator("#question").press("Enter")
    frame.locator("article.turn[data-complete='true']").wait_for()
    assert frame.locator(".lead").inner_text().startswith("Acute gout flares are treated")
    page.screenshot(path=str(artifacts / "widget-on-other-origin.png"))
    # the host page's own styles did not leak into the widget (its buttons are not red)
    colour = launcher.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(31, 95, 191)"
    # the API answers this origin from a script too (CORS allow-list)...
    status = page.evaluate(
        """async (api) => (await fetch(api + '/v1/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({question: 'How is gout treated?'})})).status""",
        api,
    )
    assert status == 200
    # ...and refuses an origin not on the list (localhost is another origin than 127.0.0.1)
    page.goto(f"http://localhost:{port}/")
    outcome = page.evaluate(
        """async (api) => { try { await fetch(api + '/v1/models'); return 'read'; } catch (e) { return 'blocked'; } }""",
        api,
    )
    assert outcome == "blocked"


def test_keyed_server_asks_for_a_key_on_the_page(page: Any, serve_api: Callable[..., str]) -> None:
    keyed = serve_api(api_keys=["s3cret-key"])
    page.goto(keyed + "/")
    turn = ask_failing(page, "How is gout treated?")
    assert "API key is required" in turn.locator(".status").inner_text()
    assert page.locator("#key-panel").is_visible()
    page.fill("#api-key", "s3cret-key")
    page.click("#key-form button")
    answered = ask(page, "How is gout treated?")
    assert answered.locator(".lead").inner_text().startswith("Acute gout flares are treated")


def test_widget_hands_its_key_to_the_panel(
    page: Any, serve_api: Callable[..., str], other_origin: Callable[[str], int]
) -> None:
    port = other_origin("")
    keyed = serve_api(api_keys=["w1dget"], cors_origins=[f"http://127.0.0.1:{port}"])
    other_origin(widget_page(keyed, **{"api-key": "w1dget", "open": "true"}))
    page.goto(f"http://127.0.0.1:{port}/")
    frame = page.frame_locator("#clinical-assistant-widget iframe")
    frame.locator(
        "body[data-ready='true']"
    ).wait_for()  # a frame made on click: its script may still be loading
    frame.locator("#question").fill("How is gout treated?")
    frame.locator("#question").press("Enter")
    frame.locator("article.turn[data-complete='true']").wait_for()
    assert frame.locator(".references li").count() == 3
