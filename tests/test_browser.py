"""End to end in a real browser: Debian's headless Chromium driven by Playwright's Python
package (no browser download), through one golden case per guideline (and the fixture),
including a wrong input and a back step; a case kept by `guidewalk serve --db` across a
restart, with its history, and the team's deviation recorded and shown in the report. Pages
are kept as screenshots in tests/artifacts/. Fails (does not skip) when Chromium is missing,
unless GUIDEWALK_NO_BROWSER=1 is set explicitly."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_session import ARTIFACTS, CASES, FIXTURE_CASES, FIXTURE_ROOT, read_golden, shipped

from guidewalk.engine.load import default_root, guideline_ids
from guidewalk.render.web import make_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
FIXTURE = str(FIXTURE_ROOT / "demo-stepper" / "guideline.yaml")

if os.environ.get("GUIDEWALK_NO_BROWSER") == "1":
    pytest.skip("GUIDEWALK_NO_BROWSER=1: browser tests switched off explicitly", allow_module_level=True)


def _first_case(gid: str) -> Path:
    files = [f for f in sorted((CASES / gid).glob("*.yaml")) if not read_golden(f).get("overlay") and read_golden(f)["expect"]["status"] == "complete"]
    assert files, f"no complete golden case for {gid}"
    # the case with the most facts: the longest walk
    return max(files, key=lambda f: (len(read_golden(f)["facts"]), f.name))


def _targets() -> list[tuple[str, str, Path]]:
    out = [("fixture", FIXTURE, FIXTURE_CASES / "demo-stepper" / "systemic.yaml")]
    for gid in guideline_ids(default_root()):
        out.append((gid, gid, _first_case(gid)))
    return out


TARGETS = _targets()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    os.environ["GUIDEWALK_RULES"] = "builtin"  # durable_rules crashes on the fixture (reported)
    refs = [t[1] for t in TARGETS]
    srv, _ = make_server("127.0.0.1", 0, refs, quiet=True)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        os.environ.pop("GUIDEWALK_RULES", None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium (or set GUIDEWALK_NO_BROWSER=1 explicitly)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _sign_in(page: Any, server: str, name: str = "Dr. A. Jansen") -> None:
    """The start page, with the clinician's name given once (recorded with every answer)."""
    page.goto(server + "/")
    if page.input_value("#name") != name:
        page.fill("#name", name)
        _submit(page, "#save-name")


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)
    page.wait_for_load_state()


def _value_text(v: Any) -> str:
    if v is True:
        return "yes"
    if v is False:
        return "no"
    return str(v)


def _answer(page: Any, fact: str, ftype: str, value: Any) -> None:
    form = page.locator("#question")
    if value is None:
        _submit(page, "#unknown")
        return
    if ftype in ("boolean", "enum"):
        form.locator(f'input[name="value"][value="{_value_text(value)}"]').check()
    elif ftype == "set":
        for item in value:
            form.locator(f'input[name="item"][value="{item}"]').check()
    else:
        page.fill("#answer", str(value))
    _submit(page, "#submit")


def _wrong_value(ftype: str, page: Any) -> str | None:
    if ftype in ("integer", "number"):
        hi = page.get_attribute("#answer", "max")
        return str(float(hi) + 1000) if hi else "not-a-number"
    return None


@pytest.mark.parametrize("name,ref,case", TARGETS, ids=[t[0] for t in TARGETS])
def test_walk_golden_case_in_browser(server: str, browser: Any, name: str, ref: str, case: Path) -> None:
    g = shipped(ref) if name != "fixture" else None
    if g is None:
        from test_session import fixture_guideline

        g = fixture_guideline()
    data = read_golden(case)
    facts = data["facts"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _sign_in(page, server)
        form = page.locator("form", has=page.locator(f'input[name="guideline"][value="{ref}"]'))
        if data.get("flowchart"):
            form.locator("select[name=flowchart]").select_option(data["flowchart"])
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        did_wrong = did_back = False
        questions = 0
        for _ in range(200):
            if page.locator("#question").count() == 0:
                break
            fact = page.get_attribute('#question input[name="fact"]', "value")
            spec = g.dictionary[fact]
            if not did_wrong and spec.type in ("integer", "number"):
                wrong = _wrong_value(spec.type, page)
                page.evaluate("document.getElementById('question').noValidate = true")  # as an old browser would send it
                page.fill("#answer", str(wrong))
                _submit(page, "#submit")
                assert page.locator("#error").is_visible()
                assert "Not accepted" in page.inner_text("#error")
                assert page.get_attribute('#question input[name="fact"]', "value") == fact
                did_wrong = True
            _answer(page, fact, spec.type, facts.get(fact))
            questions += 1
            if not did_back and questions == 2:
                _submit(page, "#back")
                assert page.get_attribute('#question input[name="fact"]', "value") == fact
                _answer(page, fact, spec.type, facts.get(fact))
                did_back = True
        assert page.locator("#done").count() == 1
        assert did_back
        if not did_wrong:  # no numeric question on this path: a wrong enum value instead
            pytest.fail("the walk had no numeric question to enter a wrong value into")
        exp = data["expect"]
        text = page.inner_text("#ask")
        from guidewalk.engine.rules import BuiltinRules
        from guidewalk.engine.walk import run

        ref_res = run(g, facts, flowchart=data.get("flowchart"), rules=BuiltinRules())
        for r in ref_res.recommendations:
            assert r.text.split(":")[0][:40] in text
        assert exp["status"] == "complete"
        trace = page.inner_text("#trace")
        for node in ref_res.path:
            assert node in trace
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)
    finally:
        page.close()


# --------------------------------------------------------------------------- serve --db: a restart keeps the case


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int) -> Any:
    import subprocess
    import sys
    import time
    import urllib.request

    env = {**os.environ, "GUIDEWALK_RULES": "builtin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "guidewalk", "serve", "--db", str(db), "--port", str(port), "--guideline", FIXTURE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"guidewalk serve exited: {proc.stdout.read() if proc.stdout else ''}") from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("guidewalk serve did not start")


def _stop(proc: Any) -> None:
    import signal

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_serve_db_keeps_the_case_across_a_restart_and_the_report_shows_the_deviation(browser: Any, tmp_path: Path) -> None:
    db, port = tmp_path / "cases.sqlite3", _free_port()
    url = f"http://127.0.0.1:{port}"
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})  # one browser: its cookie survives the restart
    page = ctx.new_page()
    proc = _serve(db, port)
    try:
        _sign_in(page, url)
        _submit(page, 'button[name="start"]')
        case_url = page.url
        for value in ("no", "80", "28", "3"):
            if page.locator(f'#question input[name="value"][value="{value}"]').count():
                page.locator(f'#question input[name="value"][value="{value}"]').check()
            else:
                page.fill("#answer", value)
            _submit(page, "#submit")
        assert page.get_attribute('#question input[name="fact"]', "value") == "volume_cm3"
    finally:
        _stop(proc)
    assert proc.returncode == 0

    proc = _serve(db, port)
    try:
        page.goto(case_url)  # the same browser, after the restart
        assert page.get_attribute('#question input[name="fact"]', "value") == "volume_cm3"
        history = page.inner_text("#history")
        for question in ("Started the case", "Neurological symptoms?", "Karnofsky performance status (KPS)?", "Age of the patient?"):
            assert question in history
        assert history.count("Dr. A. Jansen") == 5
        page.goto(url + "/")
        assert page.locator("#cases a").count() == 1
        page.screenshot(path=str(ARTIFACTS / "browser-start-page.png"), full_page=True)
        page.goto(case_url)
        page.screenshot(path=str(ARTIFACTS / "browser-after-restart.png"), full_page=True)
        page.fill("#answer", "5")
        _submit(page, "#submit")
        assert page.locator("#done").count() == 1
        # the team decides otherwise (WBRT instead of SRS), with a reason
        page.click("#decision-form summary")
        page.locator('#decision-form input[name="action"][value="wbrt"]').check()
        page.fill("#reason", "Patient preference after the MDO")
        _submit(page, "#record-decision")
        assert page.get_attribute("#concordance", "data-concordance") == "deviation_with_reason"
        assert page.inner_text("#decision-reason") == "Patient preference after the MDO"
        page.screenshot(path=str(ARTIFACTS / "browser-decision.png"), full_page=True)
        with page.expect_download() as dl:
            page.click("#download-report")
        report = Path(dl.value.path()).read_text(encoding="utf-8")
        assert 'data-concordance="deviation_with_reason"' in report and "Patient preference after the MDO" in report
        rp = ctx.new_page()
        rp.set_content(report)
        rp.locator("#decision").scroll_into_view_if_needed()
        rp.screenshot(path=str(ARTIFACTS / "browser-report-decision.png"))
        rp.close()
    finally:
        _stop(proc)
        ctx.close()
    proc = _serve(db, port)  # and once more: the decision was kept too
    try:
        ctx = browser.new_context()
        p2 = ctx.new_page()
        p2.goto(case_url)
        assert "No such case in this browser" in p2.content()  # another browser sees nothing
        ctx.close()
    finally:
        _stop(proc)


def test_flowchart_is_the_current_one_and_zooms(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _sign_in(page, server)
        form = page.locator("form", has=page.locator('input[name="guideline"][value="brain-metastases-2020"]'))
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        page.locator('#question input[name="value"][value="yes"]').check()
        _submit(page, "#submit")
        assert page.locator("#zoomctl").is_visible()  # the script ran (allowed by its hash)
        svg = page.locator("#flowbox > svg")
        assert svg.get_attribute("data-flowchart") == "diagnostics"
        assert page.locator("#flowbox g.node.current").count() == 1
        assert page.locator("#flowbox g.node.on-path").count() >= 2
        w0 = float(svg.evaluate("e => e.getBoundingClientRect().width"))
        page.click('#zoomctl button[data-zoom="in"]')
        assert float(svg.evaluate("e => e.getBoundingClientRect().width")) > w0 * 1.2
        page.click('#zoomctl button[data-zoom="fit"]')
        assert float(svg.evaluate("e => e.getBoundingClientRect().width")) <= page.locator("#flowbox").evaluate("e => e.clientWidth") + 1
        page.screenshot(path=str(ARTIFACTS / "browser-flowchart-fit.png"), full_page=True)
    finally:
        page.close()
