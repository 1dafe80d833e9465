"""The built book as a reader meets it: every page opened in headless Chromium with no network.

Runs on the folder ``LSTM_COURSE_SITE`` (default ``_build/html``) after the book is built
(``make test`` builds it, then runs ``pytest -m site``).  The pages are served from
``127.0.0.1`` by a throw-away HTTP server; Chromium resolves no other host
(``--host-resolver-rules``), uses no proxy, and every request a page makes is recorded through the
Chrome DevTools Protocol, so an attempt to reach another host fails the test even though it
could not succeed.  For every page the test checks that

* its math is typeset by the vendored MathJax (each ``.math`` element holds an ``mjx-container``,
  no MathJax error node, no raw ``$$`` left in the text),
* every ``<img>`` loaded (``naturalWidth > 0``),
* nothing was logged to the console as an error and no script threw,
* every internal link resolves: the target file exists and so does its ``#anchor``;

and, once, that the search page finds "forget" when the word is typed into it.  Screenshots of
the intro, a chapter figure and the glossary, in light and dark mode, go to
``<site>/../screenshots/`` (``_build/screenshots/`` for the default site).

The browser is driven over the DevTools Protocol with ``websocket-client`` only, so nothing is
downloaded: Chromium comes from the system (Debian's ``chromium``; ``tools/ensure_chromium.sh``
installs it) or ``LSTM_COURSE_CHROMIUM``.  Without one the tests skip and say why.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.site

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = (REPO_ROOT / os.environ.get("LSTM_COURSE_SITE", "_build/html")).resolve()
SCREENSHOTS = SITE.parent / "screenshots"
ASSET_DIRS = {"_static", "_sources", "_images", "mathjax", "_downloads"}
WIDTH, HEIGHT = 1280, 900
PAGE_TIMEOUT = 30.0


def built_pages(site: Path) -> list[str]:
    if not (site / "index.html").is_file():
        return []
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not ASSET_DIRS.intersection(p.relative_to(site).parts[:-1]))


def find_chromium() -> str | None:
    candidates = [os.environ.get("LSTM_COURSE_CHROMIUM", "")]
    candidates += [shutil.which(n) or "" for n in
                   ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


# ----------------------------------------------------------------------------- the local server

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.skip(f"no built book at {SITE} (run `make book`, or set LSTM_COURSE_SITE)")
    return SITE


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# ----------------------------------------------------------------------------- the browser (CDP)

class CDPError(RuntimeError):
    pass


class Browser:
    """A headless Chromium with one tab, driven over the DevTools Protocol."""

    def __init__(self, executable: str):
        import websocket  # websocket-client

        self.profile = tempfile.mkdtemp(prefix="lstm-course-chromium-")
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
            "--mute-audio", "--no-proxy-server", "--hide-scrollbars",
            # no host but the local server can be resolved: the book must work offline
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={self.profile}",
            "--remote-debugging-port=0", "about:blank",
        ]
        self.proc = subprocess.Popen([executable, *flags], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.poll() is not None else ""
                self.close()
                raise CDPError(f"Chromium ({executable}) did not start: {err}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        targets = json.load(opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=PAGE_TIMEOUT,
                                              suppress_origin=True, http_no_proxy=["127.0.0.1"])
        self._next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            try:
                self.ws.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _receive(self, timeout: float) -> dict | None:
        import websocket

        self.ws.settimeout(max(timeout, 0.01))
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, timeout: float = PAGE_TIMEOUT, **params):
        self._next_id += 1
        call_id = self._next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._receive(deadline - time.monotonic())
            if message is not None and message.get("id") == call_id:
                if "error" in message:
                    raise CDPError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise CDPError(f"{method}: no answer within {timeout} s")

    def wait_for_event(self, method: str, timeout: float = PAGE_TIMEOUT, start: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[start:]:
                if event["method"] == method:
                    return event
            start = len(self.events)
            if time.monotonic() > deadline:
                raise CDPError(f"no {method} within {timeout} s")
            self._receive(min(0.5, deadline - time.monotonic()))

    def settle(self, seconds: float) -> None:
        """Keep collecting events (late console messages, requests) for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())

    def evaluate(self, expression: str, timeout: float = PAGE_TIMEOUT):
        result = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise CDPError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, dark: bool = False, redirects: bool = False) -> None:
        """Navigate, wait for the load event, MathJax's first typesetting and every image.

        ``redirects``: the page forwards the reader at once (``<meta http-equiv="refresh">``);
        wait for the page it forwards to as well.
        """
        self.call("Emulation.setEmulatedMedia", media="",
                  features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        if result.get("errorText"):
            raise CDPError(f"{url}: {result['errorText']}")
        self.wait_for_event("Page.loadEventFired")
        if redirects:
            first = next(i for i, e in enumerate(self.events) if e["method"] == "Page.loadEventFired")
            self.wait_for_event("Page.loadEventFired", start=first + 1)
        self.evaluate(_SETTLE_JS, timeout=PAGE_TIMEOUT)
        self.settle(0.3)

    def screenshot(self, path: Path, clip_top: float | None = None, max_height: int = 2400) -> None:
        """Save a PNG: the page from the top (up to ``max_height`` px, laid out in a window that
        tall, so sticky sidebars look as they would), or one window's height from ``clip_top``."""
        if clip_top is None:
            full_height = self.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
            height = int(min(max_height, max(HEIGHT, full_height)))
            self.call("Emulation.setDeviceMetricsOverride",
                      width=WIDTH, height=height, deviceScaleFactor=1, mobile=False)
            self.settle(0.3)
            shot = self.call("Page.captureScreenshot", format="png")
            self.call("Emulation.setDeviceMetricsOverride",
                      width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
        else:
            full_height = self.call("Page.getLayoutMetrics")["cssContentSize"]["height"]
            top = max(0.0, min(clip_top, full_height - HEIGHT))
            shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": top, "width": WIDTH, "height": HEIGHT, "scale": 1})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


# Wait for MathJax's first typesetting (if the page loads MathJax) and for every image.
_SETTLE_JS = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await Promise.all(Array.from(document.images, img => (img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); }))));
  return true;
})()"""

# What the checks need from a loaded page.
_INSPECT_JS = r"""(() => {
  const math = Array.from(document.querySelectorAll('.math'));
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent;
    if (/\$\$|\\\[|\\\(/.test(text) && !(node.parentElement && node.parentElement.closest(skip))) {
      raw.push(text.trim().slice(0, 80));
    }
  }
  return {
    mathCount: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 80)),
    mathErrors: Array.from(document.querySelectorAll('mjx-merror'), e => e.getAttribute('data-mjx-error') || e.textContent),
    rawMath: raw,
    images: document.images.length,
    brokenImages: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src),
    links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
    theme: document.documentElement.dataset.theme || '',
    background: getComputedStyle(document.body).backgroundColor,
  };
})()"""


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found: run tools/ensure_chromium.sh (installs Debian's chromium "
                    "with apt-get when run as root), or set LSTM_COURSE_CHROMIUM=/path/to/chromium")
    pytest.importorskip("websocket", reason="websocket-client is needed to drive Chromium")
    b = Browser(executable)
    try:
        yield b
    finally:
        b.close()


# ----------------------------------------------------------------------------- checks

def console_problems(events: list[dict]) -> list[str]:
    problems = []
    for event in events:
        method, params = event["method"], event["params"]
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            problems.append(f"console.{params['type']}: {text[:300]}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            problems.append(f"uncaught exception: {text[:300]}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            if urlsplit(entry.get("url", "")).path == "/favicon.ico":
                # the browser's own probe at the server root, made for pages that declare no icon
                # (only Jupyter Book's redirecting index.html); on a project site that root is
                # not the book's, and every real page declares the book's icon
                continue
            problems.append(f"{entry['source']} error: {entry['text'][:300]} {entry.get('url', '')}")
    return problems


def foreign_requests(events: list[dict], origin: str) -> list[str]:
    urls = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
    return sorted({u for u in urls
                   if urlsplit(u).scheme in ("http", "https", "ws", "wss", "ftp")
                   and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin})


@functools.lru_cache(maxsize=None)
def anchors_of(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r"""\s(?:id|name)\s*=\s*["']([^"']+)["']""", text))


def broken_internal_links(site: Path, origin: str, links: list[str]) -> list[str]:
    problems = []
    for link in sorted(set(links)):
        parts = urlsplit(link)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            continue  # a link to another site or a javascript:/mailto: link: not checked here
        target = site / unquote(parts.path).lstrip("/")
        if parts.path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"{link}: no such file")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors_of(target):
            problems.append(f"{link}: no element with id {unquote(parts.fragment)!r}")
    return problems


PAGES = built_pages(SITE)


@pytest.mark.parametrize("page", PAGES or [pytest.param("", marks=pytest.mark.skip(
    reason=f"no built book at {SITE} (run `make book`, or set LSTM_COURSE_SITE)"))])
def test_page_reads_offline(page, site, server, browser):
    redirect = re.search(r"""http-equiv=["']refresh["'][^>]*url=([^"'>]+)""",
                         (site / page).read_text(encoding="utf-8"), re.I)
    browser.open(f"{server}/{page}", redirects=bool(redirect))
    info = browser.evaluate(_INSPECT_JS)
    problems = []
    if 'class="math' in (site / page).read_text(encoding="utf-8") and info["mathCount"] == 0:
        problems.append("the HTML has math but the loaded page shows no .math element")
    if redirect:   # e.g. the root index.html, which forwards to the intro
        landed = browser.evaluate("location.href")
        if not broken_internal_links(site, server, [landed]) == [] or landed.endswith("/" + page):
            problems.append(f"the redirect to {redirect.group(1)} did not land on a page: {landed}")
    if info["untypeset"]:
        problems.append(f"math not typeset by MathJax: {info['untypeset'][:5]}")
    if info["mathErrors"]:
        problems.append(f"MathJax errors: {info['mathErrors'][:5]}")
    if info["rawMath"]:
        problems.append(f"raw TeX delimiters in the text: {info['rawMath'][:5]}")
    if info["brokenImages"]:
        problems.append(f"images that did not load: {info['brokenImages']}")
    problems += console_problems(browser.events)
    problems += [f"request to another host: {u}" for u in foreign_requests(browser.events, server)]
    problems += broken_internal_links(site, server, info["links"])
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_some_page_has_math(site):
    """Guards the per-page math check against vacuity: the built book does contain math."""
    assert any('class="math' in (site / page).read_text(encoding="utf-8") for page in PAGES), \
        "no page of the built book has math, so the typesetting check proves nothing"


def test_search_finds_forget(site, server, browser):
    browser.open(f"{server}/search.html")
    # type the word into the visible search box and press Enter, as a reader would
    focused = browser.evaluate("""(() => {
      const box = Array.from(document.querySelectorAll('form.bd-search input, input[name=q]'))
                       .find(i => i.offsetParent !== null);
      if (!box) return false;
      box.focus(); box.value = ''; return true; })()""")
    assert focused, "search.html has no visible search box"
    browser.call("Input.insertText", text="forget")
    start = len(browser.events)
    for kind in ("keyDown", "keyUp"):
        browser.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                     windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                     **({"text": "\r"} if kind == "keyDown" else {}))
    browser.wait_for_event("Page.loadEventFired", start=start)
    deadline = time.monotonic() + PAGE_TIMEOUT
    results: list[str] = []
    while time.monotonic() < deadline:
        results = browser.evaluate(
            "Array.from(document.querySelectorAll('#search-results ul.search li a'), a => a.href)")
        done = browser.evaluate(
            "!!document.querySelector('#search-results .search-summary') && "
            "!/Searching|Preparing/i.test(document.querySelector('#search-results').textContent.slice(0, 60))")
        if results and done:
            break
        time.sleep(0.2)
    assert "q=forget" in browser.evaluate("location.search"), "pressing Enter did not submit the search"
    assert results, "searching the book for 'forget' returned no results"
    assert not broken_internal_links(site, server, results), broken_internal_links(site, server, results)
    assert not console_problems(browser.events), console_problems(browser.events)
    pages_found = {urlsplit(r).path for r in results}
    assert any(p.endswith("/glossary.html") for p in pages_found), \
        f"the glossary defines 'forget gate' but search did not find it: {sorted(pages_found)}"


def _chapter_with_figure(site: Path) -> str | None:
    for page in PAGES:
        if page.startswith("book/") and (site / "_sources" / page).with_suffix(".ipynb").is_file():
            if re.search(r'<img[^>]+src="\.\./_images/', (site / page).read_text(encoding="utf-8")):
                return page
    return None


def test_screenshots_light_and_dark(site, server, browser):
    chapter = _chapter_with_figure(site)
    assert chapter is not None, "no chapter page with a figure in the built book"
    shots = {"intro": "book/intro.html", "chapter": chapter, "glossary": "book/glossary.html"}
    written = []
    for mode in ("light", "dark"):
        for name, page in shots.items():
            browser.open(f"{server}/{page}", dark=(mode == "dark"))
            info = browser.evaluate(_INSPECT_JS)
            assert info["theme"] == mode, f"{page}: theme is {info['theme']!r} under a {mode} preference"
            rgb = [int(v) for v in re.findall(r"\d+", info["background"])[:3]]
            luminance = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255
            assert (luminance < 0.3) if mode == "dark" else (luminance > 0.7), \
                f"{page}: body background {info['background']} in {mode} mode"
            top = None
            if name == "chapter":   # the first figure of the chapter, near the top of the window
                top = browser.evaluate("""(() => {
                  const img = document.querySelector('img[src*="_images/"]');
                  const r = img.getBoundingClientRect();
                  return Math.max(0, r.top + window.scrollY - 120); })()""")
            path = SCREENSHOTS / f"{name}-{mode}.png"
            browser.screenshot(path, clip_top=top)
            assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
            written.append(path.name)
    assert len(written) == 6
