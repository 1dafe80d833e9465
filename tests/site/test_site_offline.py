"""Static checks of the built HTML book: it must read with no network, and its reader features exist.

Runs on the folder ``LSTM_COURSE_SITE`` (default ``_build/html``), after the book is built
(``make test`` builds it, then runs ``pytest -m site``).  Every page is parsed with the standard
library's HTML parser; nothing here needs a browser (``test_site_browser.py`` does the rest).

* No page loads a script, stylesheet, font, image, frame or media file from another host, and no
  local stylesheet does either (``url(...)`` and ``@import`` are followed recursively).  Links
  (``<a href>``) to other sites are fine: they are not fetched when a page is viewed.
* Every local resource a page or stylesheet refers to exists in the site.
* Pages with math load the vendored MathJax, and it is in the site.
* Notebook pages carry the Colab, Binder and download buttons, every page links the repository,
  and the glossary, FAQ, references and search pages are there.
"""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

pytestmark = pytest.mark.site

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = (REPO_ROOT / os.environ.get("LSTM_COURSE_SITE", "_build/html")).resolve()
# folders of the built site that hold assets, not pages
ASSET_DIRS = {"_static", "_sources", "_images", "mathjax", "_downloads"}
# <link rel=...> values that name a related document without fetching it
NON_FETCHING_RELS = {"canonical", "alternate", "author", "license", "next", "prev", "index",
                     "search", "help", "me", "top", "up", "first", "last", "bookmark"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.S)


def _site_or_skip() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.skip(f"no built book at {SITE} (run `make book`, or set LSTM_COURSE_SITE)")
    return SITE


def built_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html")
                  if not ASSET_DIRS.intersection(p.relative_to(site).parts[:-1]))


def is_external(url: str) -> bool:
    """True for a URL that would be fetched from another host (http(s), ftp, protocol-relative)."""
    url = url.strip()
    if url.startswith("//"):
        return True
    scheme = urlsplit(url).scheme.lower()
    return scheme not in ("", "data", "blob", "about", "javascript", "mailto")


def local_target(site: Path, base: Path, url: str) -> Path | None:
    """The file in the site that a relative URL found in ``base`` points to (None: not a file URL)."""
    url = url.strip()
    if not url or url.startswith("#") or is_external(url) or urlsplit(url).scheme:
        return None
    rel = base.relative_to(site).as_posix()
    path = urlsplit(urljoin("http://site/" + rel, url)).path
    target = site / unquote(path).lstrip("/")
    if path.endswith("/"):
        target = target / "index.html"
    return target


class _Resources(HTMLParser):
    """Collects the URLs a page fetches when it is displayed, and whether it has math."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fetched: list[tuple[str, str]] = []   # (what, url)
        self.links: list[str] = []                 # <a href> values
        self.has_math = False
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if "math" in classes:
            self.has_math = True
        if tag == "script" and a.get("src"):
            self.fetched.append(("script", a["src"]))
        elif tag == "link" and a.get("href"):
            rels = set(a.get("rel", "").lower().split())
            if not rels or rels - NON_FETCHING_RELS:
                self.fetched.append((f"link rel={a.get('rel', '')}", a["href"]))
        elif tag in ("img", "source", "video", "audio", "iframe", "embed", "track", "input"):
            for key in ("src", "poster"):
                if a.get(key):
                    self.fetched.append((tag, a[key]))
            for candidate in a.get("srcset", "").split(","):
                if candidate.strip():
                    self.fetched.append((f"{tag} srcset", candidate.split()[0]))
        elif tag == "object" and a.get("data"):
            self.fetched.append(("object", a["data"]))
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "style":
            self._in_style = True
        if a.get("style"):
            self._css(a["style"], "style attribute")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data, "<style>")

    def _css(self, text: str, what: str) -> None:
        for m in CSS_URL.finditer(text):
            self.fetched.append((what, m.group(2) or m.group(4)))


def parse_page(page: Path) -> _Resources:
    parser = _Resources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def css_references(css_file: Path) -> list[str]:
    text = re.sub(r"/\*.*?\*/", "", css_file.read_text(encoding="utf-8", errors="replace"), flags=re.S)
    return [m.group(2) or m.group(4) for m in CSS_URL.finditer(text)]


def _walk_css(site: Path, css_file: Path, seen: set[Path], problems: list[str], origin: str) -> None:
    if css_file in seen:
        return
    seen.add(css_file)
    for url in css_references(css_file):
        where = f"{css_file.relative_to(site)} (from {origin})"
        if is_external(url):
            problems.append(f"{where}: external url({url})")
            continue
        target = local_target(site, css_file, url)
        if target is None:
            continue
        if not target.is_file():
            problems.append(f"{where}: url({url}) -> missing {target.relative_to(site)}")
        elif target.suffix == ".css":
            _walk_css(site, target, seen, problems, origin)


def test_expected_pages_are_built():
    site = _site_or_skip()
    expected = ["index.html", "search.html", "genindex.html", "book/intro.html", "book/faq.html",
                "book/glossary.html", "book/references.html"]
    missing = [p for p in expected if not (site / p).is_file()]
    assert not missing, f"pages missing from the built book {site}: {missing}"
    assert (site / "searchindex.js").is_file(), "searchindex.js is missing: search cannot work"


def test_no_page_fetches_anything_from_another_host():
    site = _site_or_skip()
    problems, seen_css = [], set()
    for page in built_pages(site):
        name = page.relative_to(site).as_posix()
        for what, url in parse_page(page).fetched:
            if is_external(url):
                problems.append(f"{name}: {what} {url}")
                continue
            target = local_target(site, page, url)
            if target is not None and target.suffix == ".css" and target.is_file():
                _walk_css(site, target, seen_css, problems, name)
    assert not problems, "the book would fetch from the network:\n" + "\n".join(problems)


def test_every_local_resource_exists():
    site = _site_or_skip()
    problems = []
    for page in built_pages(site):
        name = page.relative_to(site).as_posix()
        for what, url in parse_page(page).fetched:
            target = local_target(site, page, url)
            if target is not None and not target.is_file():
                problems.append(f"{name}: {what} {url} -> no such file")
    assert not problems, "missing files in the built book:\n" + "\n".join(problems)


def test_every_page_declares_the_book_icon():
    """Without <link rel="icon"> a browser probes /favicon.ico at the server root and logs a 404."""
    site = _site_or_skip()
    missing = []
    for page in built_pages(site):
        text = page.read_text(encoding="utf-8")
        if re.search(r"""http-equiv=["']refresh""", text, re.I):
            continue   # Jupyter Book's root index.html only forwards to the first page
        icons = [url for what, url in parse_page(page).fetched if "icon" in what.split("=", 1)[-1]]
        if not icons:
            missing.append(page.relative_to(site).as_posix())
    assert not missing, f"pages without a favicon (html.favicon in _config.yml): {missing}"


def test_math_pages_load_the_vendored_mathjax():
    site = _site_or_skip()
    mathjax = site / "mathjax" / "tex-chtml-full.js"
    assert mathjax.is_file(), f"vendored MathJax missing: {mathjax} (html_extra_path: [vendor])"
    math_pages, problems = 0, []
    for page in built_pages(site):
        parsed = parse_page(page)
        if not parsed.has_math:
            continue
        math_pages += 1
        scripts = [local_target(site, page, url) for what, url in parsed.fetched if what == "script"]
        if mathjax.resolve() not in {s.resolve() for s in scripts if s is not None}:
            problems.append(page.relative_to(site).as_posix())
    assert math_pages > 0, "no page of the book has math; the check would prove nothing"
    assert not problems, f"pages with math that do not load {mathjax.relative_to(site)}: {problems}"


def _config() -> dict:
    import yaml

    return yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))


def test_notebook_pages_have_colab_binder_and_download_buttons():
    site = _site_or_skip()
    repo = _config()["repository"]
    url, branch = repo["url"].rstrip("/"), repo.get("branch", "main")
    owner_repo = urlsplit(url).path.strip("/")
    notebooks = sorted((site / "_sources").rglob("*.ipynb"))
    assert notebooks, "no notebook page in the built book; the buttons cannot be checked"
    problems = []
    for source in notebooks:
        rel = source.relative_to(site / "_sources")            # e.g. book/01_rnn_limits.ipynb
        page = site / rel.with_suffix(".html")
        links = parse_page(page).links
        colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{rel.as_posix()}"
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath="
        if colab not in links:
            problems.append(f"{rel}: no Colab button linking {colab}")
        if not any(h.startswith(binder) and rel.as_posix() in h for h in links):
            problems.append(f"{rel}: no Binder button linking {binder}...{rel.as_posix()}")
        downloads = [h for h in links if h.endswith(rel.name) and local_target(site, page, h)]
        if not any(local_target(site, page, h).is_file() for h in downloads):
            problems.append(f"{rel}: no download link to an existing {rel.name}")
    assert not problems, "\n".join(problems)


def test_every_page_links_the_repository():
    site = _site_or_skip()
    url = _config()["repository"]["url"].rstrip("/")
    pages = [p for p in built_pages(site) if p.name != "index.html" or p.parent != site]
    missing = [p.relative_to(site).as_posix() for p in pages
               if url not in {h.rstrip("/") for h in parse_page(p).links}]
    assert not missing, f"pages without a link to the repository {url}: {missing}"


GLOSSARY_PAIRS = {
    "forget gate": "遗忘门", "input gate": "输入门", "output gate": "输出门",
    "cell state": "细胞状态", "hidden state": "隐藏状态", "vanishing gradient": "梯度消失",
    "exploding gradient": "梯度爆炸", "backpropagation through time": "时间反向传播",
    "gated recurrent unit": "门控循环单元", "peephole connection": "窥视孔连接",
    "bidirectional RNN": "双向循环神经网络", "stacked RNN": "堆叠", "teacher forcing": "教师强制",
    "beam search": "束搜索", "perplexity": "困惑度", "gradient clipping": "梯度裁剪",
    "long short-term memory": "长短时记忆网络", "recurrent neural network": "循环神经网络",
    "precision": "精确率", "recall": "召回率", "F1 score": "F1 分数",
}


class _Glossary(HTMLParser):
    """Maps each glossary entry's terms (<dt> text) to its id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.terms: dict[str, str] = {}
        self._dt_id: str | None = None
        self._text: list[str] = []
        self._in_headerlink = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "dt":
            self._dt_id, self._text = a.get("id", ""), []
        elif tag == "a" and "headerlink" in (a.get("class") or "").split():
            self._in_headerlink = True   # the "#" permalink Sphinx appends to each term

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_headerlink = False
        elif tag == "dt" and self._dt_id is not None:
            self.terms["".join(self._text).strip()] = self._dt_id
            self._dt_id = None

    def handle_data(self, data):
        if self._dt_id is not None and not self._in_headerlink:
            self._text.append(data)


def test_glossary_has_english_and_chinese_terms_as_link_targets():
    site = _site_or_skip()
    parser = _Glossary()
    parser.feed((site / "book" / "glossary.html").read_text(encoding="utf-8"))
    missing = [t for pair in GLOSSARY_PAIRS.items() for t in pair if t not in parser.terms]
    assert not missing, f"glossary terms missing (or not glossary entries): {missing}"
    assert all(parser.terms[t].startswith("term-") for pair in GLOSSARY_PAIRS.items() for t in pair)


def test_references_page_lists_every_bibtex_entry():
    site = _site_or_skip()
    bib = (REPO_ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    titles = [re.sub(r"[{}]", "", t) for t in re.findall(r"^\s*title\s*=\s*\{(.*)\},?\s*$", bib, re.M)]
    assert titles, "no titles parsed from book/references.bib"
    page = (site / "book" / "references.html").read_text(encoding="utf-8")
    # the bibliography style changes the case of titles and typesets "--" as an en dash
    page_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)).replace("–", "--").lower()
    missing = [t for t in titles if re.sub(r"\s+", " ", t).lower() not in page_text]
    assert not missing, f"references page lacks these entries of references.bib: {missing}"


def test_every_notebook_page_shows_its_executed_figures():
    """Each chapter notebook plots; its page must carry those figures (a kernel started with a
    non-inline matplotlib backend, e.g. MPLBACKEND=Agg, would silently drop them)."""
    site = _site_or_skip()
    notebook_pages = [p for p in built_pages(site)
                      if (site / "_sources" / p.relative_to(site)).with_suffix(".ipynb").is_file()]
    assert notebook_pages, "no notebook pages in the built book"
    without = [p.relative_to(site).as_posix() for p in notebook_pages
               if not re.search(r'<img[^>]+src="(\.\./)+_images/', p.read_text(encoding="utf-8"))]
    assert not without, f"notebook pages with no figure output: {without}"
