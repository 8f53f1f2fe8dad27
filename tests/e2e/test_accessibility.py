"""axe-core (pinned, see conftest.AXE_VERSION) on the chat page, on a desktop and on a phone: with an answer shown
(the filters, the audience choice and "How this was read" open), with the source dialog open, and with the
library's coverage open under an answer that was cut off. No violation
of impact "serious" or "critical" is allowed; the summary (violations by impact) is printed either way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.helpers import ask

BLOCKING = {"serious", "critical"}
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5), count: v.nodes.length }));
}"""


def cut_before_done(route: Any) -> None:
    body = route.fetch().text()
    route.fulfill(
        status=200, headers={"Content-Type": "text/event-stream"}, body=body[: body.index("event: done")]
    )


@pytest.fixture(params=["desktop", "phone"])
def screen(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Any]]:
    # the page's CSP allows no inline script: the test's own context lets axe's injected <script> run
    extra = {"is_mobile": True, "has_touch": True} if request.param == "phone" else {}
    viewport = PHONE if request.param == "phone" else DESKTOP
    context = browser.new_context(viewport=viewport, reduced_motion="reduce", bypass_csp=True, **extra)
    yield request.param, context.new_page()
    context.close()


def audit(page: Any, axe_script: Path) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script))
    return list(page.evaluate(RUN_AXE))


def summary(name: str, violations: list[dict[str, Any]]) -> str:
    by_impact = Counter(v["impact"] for v in violations)
    counts = ", ".join(f"{k} {by_impact.get(k, 0)}" for k in ("critical", "serious", "moderate", "minor"))
    lines = [f"axe {name}: {len(violations)} violations ({counts})"]
    lines += [
        f"  [{v['impact']}] {v['id']}: {v['help']} ({v['count']} nodes: {', '.join(v['nodes'])})"
        for v in violations
    ]
    return "\n".join(lines)


def test_axe_finds_no_serious_or_critical_violations(
    screen: tuple[str, Any], api: str, axe_script: Path, artifacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, page = screen
    page.goto(api + "/")
    page.click("#toggle-filters")
    turn = ask(page, "gout treatmnet")
    turn.get_by_role("button", name="How this was read").click()
    results = {f"{name}, answer shown": audit(page, axe_script)}

    turn.locator(".lead .cite").first.click()
    page.locator("#source-panel blockquote.passage").wait_for()
    page.locator("#source-panel details.context summary").first.click()  # the surrounding passages, too
    results[f"{name}, source dialog open"] = audit(page, axe_script)
    page.screenshot(path=str(artifacts / f"axe-{name}-source.png"))

    page.keyboard.press("Escape")
    page.click("#toggle-about")  # and the library's coverage, with an answer cut off (its notice and retry)
    page.locator("#about-topics tbody tr").first.wait_for()
    page.route("**/v1/ask/stream", cut_before_done)
    page.fill("#question", "How is asthma treated?")
    page.press("#question", "Enter")
    page.locator("article.turn .notice").wait_for()
    results[f"{name}, about open, answer cut off"] = audit(page, axe_script)

    report = "\n".join(summary(k, v) for k, v in results.items())
    (artifacts / f"axe-{name}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    with capsys.disabled():
        print("\n" + report)
    blocking = [f"{k}: {v['id']}" for k, vs in results.items() for v in vs if v["impact"] in BLOCKING]
    assert blocking == [], report
