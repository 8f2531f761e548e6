"""A real browser (headless Debian chromium, driven by Playwright) against `modelcat serve`:
the home page, the seed question's stored query, its answer rows each carrying the line that
loads the model, the copy button, and a screenshot.

Needs `chromium` (scripts/setup.sh installs Debian's package where it can) and the `playwright`
package (the test extra). Skipped where either is missing, except under CI=true.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import IN_CI

CHROMIUM = os.environ.get("MODELCAT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
# ../shared/ENVIRONMENT.md: what headless chromium needs in a container without a GPU or network
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _requirements() -> str | None:
    if not CHROMIUM:
        return "chromium is not installed (scripts/setup.sh installs Debian's chromium when it can)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _requirements()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true: the browser test must run, but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(db):
    """`modelcat serve` on a free port, for as long as the block runs: its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "indexer", "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/-/versions.json", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"modelcat serve did not start: {proc.stdout.read()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(built_catalog):
    with serving(built_catalog) as url:
        yield url


def test_the_seed_question_in_a_real_browser(browser, server, tmp_path):
    expected = json.load(urllib.request.urlopen(server + "/catalog/open_classifiers.json?_shape=array"))
    assert expected, "the seed question has answers in this catalog"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # the home page explains the catalog and links the question
    page.goto(server + "/")
    assert page.locator("h1").first.inner_text() == "modelcat"
    assert "A catalog of pretrained models" in page.content()
    sources = page.locator("table.mc-sources tbody tr")
    assert sources.count() == 2 and "timm" in sources.nth(0).inner_text()
    page.get_by_role("link", name="Open-license image classifiers trained on ImageNet, under 100 MB").click()
    page.wait_for_url("**/catalog/open_classifiers*")

    # the stored query's form, with its parameters; run it with the defaults
    for name in ("task", "dataset", "open", "max_mb"):
        assert page.locator(f'form input[name="{name}"]').count() == 1, name
    page.locator('form input[type="submit"]').first.click()
    page.wait_for_load_state()
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() == min(100, len(expected))  # a page of 100; the heading counts them all
    assert page.locator("form.sql h3").first.inner_text().startswith(f"{len(expected):,} answer")
    headers = page.locator("table.rows-and-columns thead th")
    # what people choose by first, on screen at 1280 px (issue #19 item 2)
    assert [headers.nth(i).inner_text() for i in range(4)] == ["Catalog id", "License family", "Size (MB)",
                                                              "ImageNet top-1 (%)"]
    for col in ("size_mb", "imagenet_top1", "license_family"):
        box = page.locator(f"th.col-{col}").bounding_box()
        assert box and box["x"] + box["width"] <= 1280, (col, box)
    assert page.locator("th.col-size_mb").inner_text() == "Size (MB)"
    assert page.locator("th.col-size_mb").get_attribute("title") == "size_mb"
    ids = [rows.nth(i).locator("td.col-id a.mc-id").inner_text() for i in range(rows.count())]
    assert ids == [r["id"] for r in expected][:100]
    for i in range(rows.count()):
        snippet = rows.nth(i).locator("td.col-id .mc-load code").inner_text()
        assert snippet == f'load_model("{ids[i]}")'
    assert rows.nth(0).locator(".mc-badge").inner_text() in ("permissive", "copyleft")

    # the copy button puts the line on the clipboard
    rows.nth(0).locator("button.mc-copy").click()
    page.wait_for_function("document.querySelector('button.mc-copy').textContent === 'copied'")
    assert page.evaluate("navigator.clipboard.readText()") == f'load_model("{ids[0]}")'

    shot = Path(os.environ.get("MODELCAT_SCREENSHOTS") or tmp_path) / "seed-question.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    # the models view: labelled, sortable headers and the facets
    page.goto(server + "/catalog/model_summary?_size=5")
    assert page.locator('th[data-column="size_mb"] a').inner_text().startswith("Size (MB)")
    assert page.locator('th[data-column="imagenet_top1"]').inner_text().startswith("ImageNet top-1 (%)")
    facets = page.locator(".facet-info").all_inner_texts()
    assert any(f.startswith("Loadable") for f in facets) and any(f.startswith("License family") for f in facets)

    # bookkeeping columns are hidden on the page (the JSON keeps them)
    page.goto(server + "/catalog/models?_size=3")
    assert page.locator("th.col-record_hash").count() == 0 and page.locator("th.col-license").is_visible()
    page.goto(server + "/catalog/models?_size=3&_wide=1")  # every column: bookkeeping still out of the way
    assert page.locator("th.col-record_hash").count() == 1 and not page.locator("th.col-record_hash").is_visible()
    assert page.locator("th.col-license").is_visible()

    # the chart, one click from the home page
    page.goto(server + "/")
    page.get_by_role("link", name="as a chart: accuracy against size").click()
    assert page.locator("svg circle.mc-dot").count() > 10
    page.screenshot(path=str(shot.with_name("chart.png")))
    assert errors == []
    context.close()


def _stored_queries(server) -> list[str]:
    meta = json.load(urllib.request.urlopen(server + "/-/metadata.json"))
    return sorted((meta["databases"]["catalog"].get("queries") or {}))


MODEL_PAGES = ["model_summary", "models", "model_entities", "paper_summary", "papers", "repos", "model_paper_results"]


def test_every_page_of_models_fits_a_laptop_screen(browser, server, tmp_path):
    """Issue #19: at 1280x900 the main table of every page that lists models, papers or
    repositories, and of every stored query, fits the screen (no sideways scrolling), headed in
    words; the other columns are one click away and come back whole."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shots = Path(os.environ.get("MODELCAT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    paths = [f"/catalog/{name}" for name in MODEL_PAGES] + [f"/catalog/{q}" for q in _stored_queries(server)]
    checked = 0
    for path in paths:
        assert page.goto(server + path).status == 200, path
        if page.locator("table.rows-and-columns").count() == 0:
            continue  # no answers in this catalog (a query about repositories or papers it lacks)
        checked += 1
        right = page.evaluate("document.querySelector('table.rows-and-columns').getBoundingClientRect().right")
        assert right <= 1280, (path, right)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, path
        headers = page.locator("table.rows-and-columns thead th").all_inner_texts()
        raw = [h for h in headers if "_" in h]
        assert not raw, (path, raw)  # labels, not column names
        page.screenshot(path=str(shots / f"{path.strip('/').replace('/', '-')}.png"))
        more = page.get_by_role("link", name="show every column")
        if more.count():
            shown = len(headers)
            more.first.click()
            page.wait_for_load_state()
            assert len(page.locator("table.rows-and-columns thead th").all_inner_texts()) > shown, path
            page.get_by_role("link", name="show the main columns").first.click()
            page.wait_for_load_state()
            assert len(page.locator("table.rows-and-columns thead th").all_inner_texts()) == shown, path
    assert checked >= len(MODEL_PAGES)


def test_the_recommend_page_fits_a_laptop_screen(browser, server, tmp_path):
    """/-/modelcat/recommend at 1280 px: the form, then its answer (each candidate's load line
    under its id), without sideways scrolling; the answer's candidates are links to their rows."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    assert page.goto(server + "/-/modelcat/recommend").status == 200
    page.fill("input[name=samples]", "500")
    page.fill("input[name=num_classes]", "7")
    page.fill("input[name=max_mb]", "100")
    page.check("input[name=open][type=checkbox]")
    page.click("input[type=submit]")
    page.wait_for_selector("table.mc-recommend-table", timeout=120_000)
    assert page.locator("table.mc-recommend-table tbody tr").count() >= 1
    assert page.locator("table.mc-recommend-table td.mc-id a").first.get_attribute("href").startswith("/")
    assert "load_model(" in page.locator("table.mc-recommend-table .mc-load").first.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shots = Path(os.environ.get("MODELCAT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "recommend.png"), full_page=True)
