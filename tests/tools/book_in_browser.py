#!/usr/bin/env python3
"""Builds the course book from --quick runs of a few chapters and opens every page in headless
Chromium. Fails on: a formula KaTeX could not typeset (a .katex-error element) or math left
untypeset, an equation number drawn over its formula (a formula wider than the column, at laptop
width), an image that did not load, a broken internal link or anchor, a chapter that was run but
whose page has no verification table or a metric placeholder the run did not fill.

    book_in_browser.py --build BUILD_DIR [--chapters 05,08] [--keep DIR] [--screenshots DIR]

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
separated by NUL on fds 3 and 4), from the standard library alone. Without Chromium the test is
skipped with one line (exit 77). To show that the checks can fail, the same browser session also
opens a copy of a chapter page with one of each defect planted, and the test fails unless every
one of them is reported.
"""
import argparse
import base64
import fcntl
import html.parser
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIP = 77


def find_chromium():
    for c in (os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium", shutil.which("chromium"),
              shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


# ---- static link check ---------------------------------------------------------------------

class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if key in a and a[key] is not None:
                self.refs.append((tag, a[key]))


def parse(path, cache):
    if path not in cache:
        p = Links()
        p.feed(path.read_text(errors="replace"))
        cache[path] = p
    return cache[path]


def broken_links(book):
    """[(page, reference, why)] for every internal href/src that does not resolve."""
    bad, cache = [], {}
    for page in sorted(book.rglob("*.html")):
        for tag, ref in parse(page, cache).refs:
            u = urllib.parse.urlsplit(ref)
            if u.scheme in ("http", "https", "mailto") or (u.scheme == "" and u.netloc):
                continue
            if u.scheme:
                bad.append((page, ref, f"scheme {u.scheme}: not an offline link"))
                continue
            target = (page.parent / urllib.parse.unquote(u.path)).resolve() if u.path else page
            if not target.is_file():
                bad.append((page, ref, "no such file"))
            elif book.resolve() not in target.parents:
                bad.append((page, ref, "points outside the book (it would break when the book is moved)"))
            elif u.fragment and target.suffix == ".html" and u.fragment not in parse(target, cache).ids:
                bad.append((page, ref, f"no id '{u.fragment}' in {target.name}"))
    return bad


# ---- Chromium over the DevTools pipe --------------------------------------------------------

class Browser:
    def __init__(self, exe, profile, width=1366, height=900):
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        # The child's fd 3 reads our commands, its fd 4 writes the replies.
        hi_cmd, hi_res = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)

        def child_fds():
            os.dup2(hi_cmd, 3)
            os.dup2(hi_res, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
                 f"--user-data-dir={profile}", "--remote-debugging-pipe", f"--window-size={width},{height}",
                 "about:blank"]
        self.proc = subprocess.Popen([exe] + flags, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=child_fds)
        for fd in (cmd_r, res_w, hi_cmd, hi_res):
            os.close(fd)
        self.w, self.r = cmd_w, res_r
        self.buf, self.next_id, self.events = b"", 0, []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=False, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m["method"] == method:
                    del self.events[i]
                    return m
            self.events.append(self._read(deadline))

    def open(self, url):
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, session=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False}, session=True)
        pathlib.Path(path).write_bytes(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)


# What each page reports: KaTeX errors, math left as TeX, images that did not load, tables.
PROBE = """(() => {
  const imgs = Array.from(document.images);
  return {
    katexErrors: Array.from(document.querySelectorAll('.katex-error')).map(e => e.getAttribute('title') || e.textContent).slice(0, 5),
    katexErrorCount: document.querySelectorAll('.katex-error').length,
    untypeset: Array.from(document.querySelectorAll('span.math')).filter(e => !e.querySelector('.katex')).length,
    math: document.querySelectorAll('span.math').length,
    brokenImages: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src')),
    images: imgs.length,
    checkTables: document.querySelectorAll('table.checks').length,
    // An equation number (KaTeX's .tag, placed at the right edge of the formula's box) that lies
    // on top of a piece of its formula: what a formula wider than its box looks like.
    tagOverlaps: Array.from(document.querySelectorAll('.katex-display .tag')).filter(tag => {
      const t = tag.getBoundingClientRect();
      return Array.from(tag.parentElement.querySelectorAll(':scope > .base')).some(b => {
        const r = b.getBoundingClientRect();
        return r.right > t.left + 0.5 && r.left < t.right - 0.5 && r.bottom > t.top && r.top < t.bottom;
      });
    }).map(tag => tag.textContent).slice(0, 5),
    missingMetrics: document.querySelectorAll('.metric-missing').length,
  };
})()"""


def page_problems(name, r, expect_table):
    out = []
    if r["katexErrorCount"]:
        out.append(f"{r['katexErrorCount']} KaTeX error(s): {r['katexErrors']}")
    if r["untypeset"]:
        out.append(f"{r['untypeset']} of {r['math']} formulas not typeset (KaTeX did not run)")
    if r["tagOverlaps"]:
        out.append(f"equation number(s) drawn over their formula: {r['tagOverlaps']}")
    if r["brokenImages"]:
        out.append(f"images that did not load: {r['brokenImages']}")
    if expect_table and not r["checkTables"]:
        out.append("no verification table")
    # A page of a chapter that was not run has no metrics; a run chapter's page must have all.
    if expect_table and r["missingMetrics"]:
        out.append(f"{r['missingMetrics']} metric(s)/test link(s) not filled")
    return [f"{name}: {p}" for p in out]


def plant_defects(book, page):
    """A copy of `page` with one of each defect the test must catch; returns its name."""
    text = (book / page).read_text()
    text = text.replace('<table class="checks"', '<table class="removed"')
    # A formula wider than any column, with KaTeX's own layout restored (the book's CSS keeps a tag
    # clear of its formula), so that its tag lands on it.
    long_formula = " + ".join(f"x_{{{i}}}" for i in range(90)) + " \\tag{0.1}"
    text = text.replace("</main>", '<p><span class="math inline">\\frac{1}{</span>'
                                   '<img src="figures/no-such-figure.png" alt="planted">'
                                   '<a href="no-such-page.html">planted</a></p>'
                                   f'<p><span class="math display">{long_formula}</span></p>'
                                   '<style>.katex-display > .katex > .katex-html { width: auto !important; '
                                   'min-width: 0 !important; padding: 0 !important; } .katex-display { '
                                   'width: auto !important; left: 0 !important; transform: none !important; }'
                                   '</style></main>')
    (book / "planted-defects.html").write_text(text)
    return "planted-defects.html"


# A run metric inside a formula: KaTeX typesets TeX, so tools/book.py must put TeX there, not HTML.
# The missing metric's name has single-letter parts (as ch08.L_1_se does): as TeX, a double subscript.
MATH_PAGE = """# Run metrics inside formulas

Present, inline: $x = {{{{metric:ch{nn}.{name}}}}}$. Missing, inline: $y = {{{{metric:ch{nn}.missing_1_se}}}} + 1$.
Missing, as a subscript of display math:

$$ \\mathcal L_{{ {{{{metric:ch{nn}.missing_1_se}}}} }} = \\frac{{1}}{{2}} $$
"""

# The formula as the book wrote it before: the missing metric's HTML span inside the TeX, where a
# name like L_1_se is a double subscript, so KaTeX rejects the whole formula.
OLD_MATH_PAGE = ('<span class="math inline">y = &lt;span class="metric-missing"&gt;'
                 '[ch05.missing_1_se: not measured in this run]&lt;/span&gt; + 1</span>')

MATH_PROBE = """(() => ({
  katexErrorCount: document.querySelectorAll('.katex-error').length,
  untypeset: Array.from(document.querySelectorAll('span.math')).filter(e => !e.querySelector('.katex')).length,
  missingInMath: document.querySelectorAll('.katex-html .metric-missing').length,
  rendered: Array.from(document.querySelectorAll('.katex-html')).map(e => e.textContent),
}))()"""


def metrics_in_math(browser, book, figures, run, work):
    """Failures of a page with a present and a missing run metric inside formulas, built by
    tools/book.py into the book, and of the old HTML-in-TeX formula (which must fail)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import book as bookmod
    b = bookmod.Book(ROOT, figures, book)
    present = next(((nn, name, m["text"]) for nn in run
                    for name, m in sorted(((b.run(nn) or {}).get("metrics") or {}).items())), None)
    if present is None:
        return [f"metrics in math: none of the chapters run ({', '.join(run)}) recorded a metric"]
    nn, name, value = present
    doc = work / "math-metrics.md"
    doc.write_text(MATH_PAGE.format(nn=nn, name=name))
    title, body = b.render_markdown_page(doc, "math-metrics.html")
    b.page("math-metrics.html", title, body, b.nav())
    b.page("math-metrics-old.html", "old", f"<p>{OLD_MATH_PAGE}</p>", b.nav())
    out = []
    try:
        browser.open((book / "math-metrics.html").as_uri())
        r = browser.evaluate(MATH_PROBE)
        if r["katexErrorCount"] or r["untypeset"]:
            out.append(f"math-metrics.html: {r['katexErrorCount']} KaTeX error(s), {r['untypeset']} formula(s) "
                       "not typeset: a metric placeholder inside $...$ breaks the formula")
        if r["missingInMath"] != 2:
            out.append(f"math-metrics.html: {r['missingInMath']} missing-metric marks inside the typeset "
                       "formulas, expected 2 (inline and display)")
        if not any(f"x={value}" in t.replace(" ", "").replace("\u200b", "").replace("\u2212", "-") for t in r["rendered"]):
            out.append(f"math-metrics.html: ch{nn}.{name} = {value} is not in the typeset formula "
                       f"(rendered: {r['rendered'][:3]})")
        if sum(".missing_1_se" in t for _, t in b.problems) != 2:
            out.append(f"math-metrics.html: book.py reported {b.problems}, expected the 2 missing metrics")
        browser.open((book / "math-metrics-old.html").as_uri())
        if not browser.evaluate(MATH_PROBE)["katexErrorCount"]:
            out.append("math-metrics-old.html: the HTML span inside TeX typeset without error, so the "
                       "test above could not have seen the bug it guards against")
    finally:
        for f in ("math-metrics.html", "math-metrics-old.html"):
            (book / f).unlink(missing_ok=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="the build directory (chapters/chNN_* programs)")
    ap.add_argument("--chapters", default="auto",
                    help="chapters to run with --quick (comma-separated); 'auto' (the default): 05 (a chapter "
                         "without metrics) and every chapter whose doc quotes a run metric ({{metric:...}})")
    ap.add_argument("--keep", help="build the book here and keep it (default: a temporary directory)")
    ap.add_argument("--screenshots", help="save a laptop-width screenshot of each run chapter's page here")
    args = ap.parse_args()
    exe = find_chromium()
    if exe is None:
        print("SKIP: Chromium not installed (Debian: apt-get install chromium; ./course installs it)")
        return SKIP
    if shutil.which("pandoc") is None or not pathlib.Path("/usr/share/javascript/katex/katex.min.js").is_file():
        print("SKIP: pandoc or KaTeX not installed (Debian: apt-get install pandoc libjs-katex)")
        return SKIP
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="course-book-"))
    work.mkdir(parents=True, exist_ok=True)
    figures, book = work / "figures", work / "book"
    failures = []
    try:
        run = [c.strip() for c in args.chapters.split(",") if c.strip()]
        if run == ["auto"]:
            run = sorted({"05"} | {d.name[:2] for d in (ROOT / "docs").glob("[0-9][0-9]-*.md")
                                   if "{{metric:" in d.read_text(errors="replace")})
        for nn in run:
            progs = sorted(pathlib.Path(args.build, "chapters").glob(f"ch{nn}_*"))
            progs = [p for p in progs if p.is_file() and os.access(p, os.X_OK)]
            if not progs:
                failures.append(f"chapter {nn}: no program in {args.build}/chapters")
                continue
            r = subprocess.run([str(progs[0]), "--quick", "--threads", "1", "--out", str(figures)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600)
            if r.returncode != 0:
                failures.append(f"chapter {nn}: {progs[0].name} --quick exited {r.returncode}: {r.stderr.strip()[-300:]}")
        r = subprocess.run([sys.executable, str(ROOT / "tools" / "book.py"), "--figures", str(figures),
                            "--out", str(book)], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append(f"tools/book.py exited {r.returncode}: {r.stderr.strip()}")
            raise SystemExit
        for page, ref, why in broken_links(book):
            failures.append(f"{page.relative_to(book)}: broken link {ref} ({why})")

        pages = sorted(p.name for p in book.glob("*.html"))
        run_pages = {p for p in pages for nn in run if p.startswith(f"{nn}-")}
        planted = plant_defects(book, sorted(run_pages)[0]) if run_pages else None
        profile = tempfile.mkdtemp(prefix="course-book-chromium-")
        browser = Browser(exe, profile)
        try:
            for page in pages:
                browser.open((book / page).as_uri())
                r = browser.evaluate(PROBE)
                failures += page_problems(page, r, page in run_pages)
                if args.screenshots and page in run_pages:
                    os.makedirs(args.screenshots, exist_ok=True)
                    shots = pathlib.Path(args.screenshots)
                    browser.screenshot(shots / (page[:-5] + ".png"))
                    for anchor in ("verification", "figures"):
                        if browser.evaluate(f"(() => {{ const e = document.getElementById('{anchor}'); "
                                            "if (e) e.scrollIntoView(); return !!e; })()"):
                            browser.screenshot(shots / f"{page[:-5]}-{anchor}.png")
            if planted:
                browser.open((book / planted).as_uri())
                found = page_problems(planted, browser.evaluate(PROBE), True)
                found += [f"{p.name}: {ref}" for p, ref, _ in broken_links(book) if p.name == planted]
                for what in ("KaTeX error", "did not load", "no verification table", "no-such-page.html",
                             "drawn over their formula"):
                    if not any(what in f for f in found):
                        failures.append(f"the planted defect '{what}' in {planted} was not detected")
                (book / planted).unlink()
            failures += metrics_in_math(browser, book, figures, run, work)
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)
        print(f"{len(pages)} pages opened in {pathlib.Path(exe).name}; chapters run: {', '.join(run)}")
    except SystemExit:
        pass
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    print("book in browser: " + ("OK" if not failures else f"NOT OK ({len(failures)} problem(s))"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
