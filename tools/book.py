#!/usr/bin/env python3
"""The course book: docs/*.md rendered to HTML pages with each chapter's figures, its verification
table from the run that made them, and the numbers the text quotes from that run.

    python3 tools/book.py [--figures DIR] [--out DIR]      (what ./course book runs)

Input: docs/NN-topic.md (the chapters, discovered by name), docs/students.md, instructors.md,
errata.md; DIR/chNN/ (default figures/), written by the chapter programs: the PNG/PDF/SVG figures,
their .gp/.dat sources and run.json (common/include/course/run_record.hpp), the verification
tables and metrics of the run. Output: OUT/ (default book/) with index.html, one page per doc,
src/ (the chapter's sources as pages), figures/ and katex/ (copied, so the book works offline and
when moved). Needs pandoc and KaTeX (Debian's pandoc and libjs-katex); Python 3 stdlib otherwise.

In the Markdown:
  {{metric:ch08.test_elbo}}   a number the run recorded (record_metric in the chapter program)
                              (inside $...$ too: there it is written as TeX, a missing one in red)
  {{test:eq_10_3_loss_...}}   a link to that test (file and test name)
  $$ ... \\tag{8.1} $$        followed by a line linking the tests named eq_8_1_...
  `name.png`                  a link to the figure on the page; `path/of/a/file` a link to it
Problems (a metric the run did not record, a test that does not exist, a run older than the code,
a failed check) are shown on the page in a banner and listed on stderr; the exit code is 0 unless
--strict is given and there is one.
"""
import argparse
import datetime
import html
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from check_tags import equation_tests  # noqa: E402

KATEX_DIRS = [pathlib.Path("/usr/share/javascript/katex"), pathlib.Path("/usr/share/nodejs/katex/dist")]
FIGURE_SOURCES = (".pdf", ".svg", ".gp", ".dat")
SOURCE_SUFFIXES = {".cpp", ".hpp", ".h", ".txt", ".py", ".json", ".md", ".cmake", ".sh"}

CSS = """
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --accent: #1a5fb4; --bg2: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); font: 17px/1.55 "DejaVu Serif", Georgia, serif; background: #fff; }
nav.top { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid var(--line);
  font: 14px/1.4 "DejaVu Sans", Arial, sans-serif; padding: 6px 20px; display: flex; gap: 16px; }
nav.top a { color: var(--accent); text-decoration: none; }
nav.top .spacer { flex: 1; }
main { max-width: 920px; margin: 0 auto; padding: 8px 24px 60px; }
h1, h2, h3, h4 { font-family: "DejaVu Sans", Arial, sans-serif; line-height: 1.25; }
h1 { font-size: 1.8em; margin-top: 0.8em; }
h2 { font-size: 1.35em; margin-top: 1.8em; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
a { color: var(--accent); }
code { font: 0.86em/1.4 "DejaVu Sans Mono", monospace; background: var(--bg2); padding: 0 3px; border-radius: 3px; }
pre { background: var(--bg2); padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 12px 0; font-size: 0.9em; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
th { background: var(--bg2); text-align: left; font-family: "DejaVu Sans", Arial, sans-serif; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: 2px 0; }
/* A tagged formula wider than the column scrolls sideways instead of running under its tag: the
   formula's box grows with its content and keeps room for the tag on both sides. */
.katex-display > .katex > .katex-html { min-width: 100%; width: max-content; }
.katex-display > .katex > .katex-html:has(> .tag) { padding: 0 3.6em; }
/* Numbered formulas (their tags line up at the right edge), an unnumbered one too wide for the
   column (book.js marks it .wide), the figures and the verification tables may use more width than
   the prose, whose lines stay readable at 920px: up to 1240px, centred on the column. */
.katex-display:has(.tag), .katex-display.wide, .verified, figure, table.checks {
  width: min(1240px, calc(100vw - 40px)); max-width: none; position: relative; left: 50%;
  transform: translateX(-50%); }
table.checks { width: max-content; max-width: min(1240px, calc(100vw - 40px)); }
.verified { display: block; font: 13px/1.4 "DejaVu Sans", Arial, sans-serif; color: var(--muted);
  margin: -6px 0 12px; text-align: right; }
.verified code { font-size: 12px; }
.banner { font: 15px/1.45 "DejaVu Sans", Arial, sans-serif; padding: 10px 14px; border-radius: 4px; margin: 14px 0; }
.banner.fail { background: #fde7e7; border: 1px solid #d33; }
.banner.stale { background: #fff4d6; border: 1px solid #d9a400; }
.banner.info { background: #e8f0fb; border: 1px solid #9bb8e3; }
.links { font: 14px/1.6 "DejaVu Sans", Arial, sans-serif; background: var(--bg2); padding: 8px 14px; border-radius: 4px; }
figure { margin: 22px 0; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font: 14px/1.45 "DejaVu Sans", Arial, sans-serif; color: var(--muted); margin: 4px auto 0;
  max-width: 872px; text-align: left; }
table.checks { font: 13px/1.35 "DejaVu Sans", Arial, sans-serif; }
table.checks td.num { text-align: right; font-family: "DejaVu Sans Mono", monospace; white-space: nowrap; }
table.checks tr.FAIL td { background: #fde7e7; }
table.checks td.verdict { font-weight: bold; }
table.checks tr.PASS td.verdict { color: #1e7b34; }
table.checks tr.FAIL td.verdict { color: #c01c28; }
table.checks .detail { color: var(--muted); font-size: 12px; }
.metric-missing { background: #fde7e7; color: #c01c28; font-weight: bold; }
pre.source { counter-reset: line; font: 13px/1.45 "DejaVu Sans Mono", monospace; padding: 0; }
pre.source span.l { display: block; padding: 0 10px 0 0; }
pre.source span.l:target { background: #fff1a8; }
pre.source span.l::before { counter-increment: line; content: counter(line); display: inline-block;
  width: 4em; margin-right: 1em; text-align: right; color: #999; user-select: none; }
ul.toc li { margin: 4px 0; }
.ok { color: #1e7b34; } .bad { color: #c01c28; }
"""

# Typesets every element pandoc marked as math; a formula KaTeX cannot parse becomes a red
# .katex-error element (throwOnError: false) that the browser test counts. Then counts the
# images that did not load and says so on the page.
SCRIPT = """
document.querySelectorAll("span.math").forEach(function (el) {
  // trust: only \\htmlClass{metric-missing}, which tools/book.py writes for a missing run metric.
  katex.render(el.textContent, el, {displayMode: el.classList.contains("display"), throwOnError: false,
                                    strict: "ignore", trust: function (c) {
                                      return c.command === "\\\\htmlClass" && c["class"] === "metric-missing"; }});
});
// An unnumbered formula wider than the column gets the wide layout of the numbered ones (book.css).
document.querySelectorAll(".katex-display").forEach(function (d) {
  if (d.scrollWidth > d.clientWidth + 1) d.classList.add("wide");
});
window.addEventListener("load", function () {
  var broken = Array.from(document.images).filter(function (i) { return !i.complete || i.naturalWidth === 0; });
  document.body.dataset.brokenImages = broken.length;
  if (broken.length) {
    var b = document.createElement("div");
    b.className = "banner fail";
    b.textContent = broken.length + " image(s) did not load: " + broken.map(function (i) { return i.getAttribute("src"); }).join(", ");
    document.querySelector("main").prepend(b);
  }
});
"""


class Book:
    def __init__(self, root, figures, out):
        self.root, self.figures, self.out = root, figures, out
        self.problems = []          # (page, text)
        self.sources = set()        # repository files to render under src/
        self.tests = equation_tests(root)
        self.test_names = {}        # test name -> (path, line)
        for eq, found in self.tests.items():
            for path, name, line in found:
                self.test_names[name] = (path, line)
        self.runs = {}              # "08" -> run.json contents (or None)
        self.run_files = {}
        self.slots = []             # placeholders as (value, missing, html, code); see slot()

    # -- inputs ------------------------------------------------------------------------------
    def chapters(self):
        """[(NN, doc path)] of every docs/NN-*.md, in order."""
        return [(p.name[:2], p) for p in sorted((self.root / "docs").glob("[0-9][0-9]-*.md"))]

    def run(self, nn):
        if nn not in self.runs:
            f = self.figures / f"ch{nn}" / "run.json"
            self.runs[nn] = None
            if f.is_file():
                try:
                    self.runs[nn] = json.loads(f.read_text())
                    self.run_files[nn] = f
                except (OSError, ValueError) as e:
                    self.problems.append((f"ch{nn}", f"{f}: unreadable run record ({e})"))
        return self.runs[nn]

    def chapter_sources(self, nn):
        """The files a reader of chapter NN may open: its program, solutions, exercises, tests."""
        pats = [f"chapters/{nn}_*/*", f"solutions/ch{nn}_*", f"exercises/ch{nn}_*",
                f"exercises/include/course/exercises/ch{nn}_*", f"tests/ch{nn}/*"]
        files = []
        for pat in pats:
            files += [p for p in sorted(self.root.glob(pat)) if p.is_file() and p.suffix in SOURCE_SUFFIXES]
        return [str(p.relative_to(self.root)) for p in files]

    def code_changed_since(self, nn, when):
        """Sources of chapter NN (and common/) modified after the time `when` (seconds)."""
        newer = []
        paths = self.chapter_sources(nn) + [str(p.relative_to(self.root)) for p in
                                            sorted((self.root / "common").rglob("*")) if p.is_file()]
        for rel in paths:
            if rel.startswith("tests/") or rel.startswith("exercises/"):
                continue
            if (self.root / rel).stat().st_mtime > when + 1:
                newer.append(rel)
        return newer

    # -- Markdown preprocessing --------------------------------------------------------------
    def link_source(self, rel, page_dir, line=None):
        self.sources.add(rel)
        href = os.path.relpath(self.out / "src" / (rel + ".html"), page_dir)
        return href + (f"#L{line}" if line else "")

    def test_link(self, path, name, line, page_dir):
        return (f'<a href="{self.link_source(path, page_dir, line)}"><code>{html.escape(name)}</code></a>'
                f' <span class="file">({html.escape(path)})</span>')

    def preprocess(self, text, page, nn, figure_names, page_dir):
        if nn is not None:
            # The doc's "**Run it:** ..." paragraph: the page's link box says it, with links.
            text = re.sub(r"^\*\*Run it:\*\*.*?\n\n", "", text, count=1, flags=re.S | re.M)
        # A placeholder becomes a token that pandoc leaves alone; after pandoc, fill_slots puts in
        # its text or HTML, or, inside a formula, TeX (HTML there would break KaTeX's parse).
        def metric(m):
            ch, name = m.group(1), m.group(2)
            run = self.run(ch)
            if run and name in run.get("metrics", {}):
                return self.slot(run["metrics"][name]["text"])
            self.problems.append((page, f"metric ch{ch}.{name} is not in the run record of chapter {ch}"))
            return self.slot(None, f"ch{ch}.{name}: not measured in this run")

        text = re.sub(r"(?<!`)\{\{metric:ch(\d\d)\.(\w+)\}\}", metric, text)  # `{{...}}` is quoted

        def test(m):
            name = m.group(1)
            if name in self.test_names:
                path, line = self.test_names[name]
                return self.slot(name, html_text=self.test_link(path, name, line, page_dir), code=True)
            self.problems.append((page, f"{{{{test:{name}}}}} names no test in tests/"))
            return self.slot(None, f"no test {name}")

        text = re.sub(r"(?<!`)\{\{test:(\w+)\}\}", test, text)

        def display(m):
            block = m.group(0)
            spans = []
            for a, b in re.findall(r"\\tag\{(\d+)\.(\d+)\}", block):
                eq = f"eq_{a}_{b}"
                found = self.tests.get(eq, [])
                if not found:
                    self.problems.append((page, f"\\tag{{{a}.{b}}} has no test named {eq}_..."))
                    links = '<span class="metric-missing">no test verifies it</span>'
                else:
                    links = "; ".join(self.test_link(p, n, ln, page_dir) for p, n, ln in found)
                spans.append(f'<span class="verified" id="eq-{a}-{b}">({a}.{b}) verified by {links}</span>')
            return block + "".join(spans)

        # Display math is $$ ... $$ (pandoc's tex_math_dollars); code blocks are left alone.
        parts = re.split(r"(```.*?```)", text, flags=re.S)
        for i in range(0, len(parts), 2):
            parts[i] = re.sub(r"\$\$.+?\$\$", display, parts[i], flags=re.S)
        text = "".join(parts)

        def code_span(m):
            code = m.group(1)
            stem = code[:-4] if code.endswith(".png") else None
            if stem and stem in figure_names:
                return f"[`{code}`](#fig-{stem})"
            rel = code.strip()
            if re.fullmatch(r"[\w./-]+", rel) and "/" in rel and (self.root / rel).is_file() \
                    and not rel.startswith(("build", "figures", "/")):
                return f"[`{code}`]({self.link_source(rel, page_dir)})"
            return m.group(0)

        text = re.sub(r"(?<!`)`([^`\n]+)`(?!`)", code_span, text)
        # Links to other docs: docs/08-vae.md or 08-vae.md -> the page.
        text = re.sub(r"\]\((?:docs/)?(\d\d-[\w-]+|students|instructors|errata)\.md(#[\w-]+)?\)",
                      lambda m: f"]({m.group(1)}.html{m.group(2) or ''})", text)
        return text

    def slot(self, value, missing=None, html_text=None, code=False):
        """A token standing for a placeholder's value (or, value None, for what is `missing`)."""
        self.slots.append((value, missing, html_text, code))
        return f"BOOKSLOT{len(self.slots) - 1}X"

    def fill_slots(self, body):
        """Pandoc's HTML with each slot token replaced: in a formula (<span class="math ...">, the
        TeX that book.js hands to KaTeX) by TeX, elsewhere by HTML. A missing value is red either
        way and carries the class metric-missing (in TeX through \\htmlClass, which book.js trusts
        for that class alone), so the browser test finds it."""
        def in_math(m):
            def tex(t):
                value, missing, _, code = self.slots[int(t.group(1))]
                if value is None:
                    return html.escape(r"\htmlClass{metric-missing}{\text{[" + tex_text(missing) + "]}}")
                if code:
                    return html.escape(r"\texttt{" + tex_text(value) + "}")
                if re.fullmatch(r"[-+]?(\d[\d,]*)?(\.\d+)?([eE][-+]?\d+)?", value) and re.search(r"\d", value):
                    return html.escape("{" + value.replace(",", "{,}") + "}")
                return html.escape(r"\text{" + tex_text(value) + "}")
            return m.group(1) + re.sub(r"BOOKSLOT(\d+)X", tex, m.group(2)) + m.group(3)

        body = re.sub(r'(<span class="math (?:inline|display)">)(.*?)(</span>)', in_math, body, flags=re.S)

        def in_text(t):
            value, missing, html_text, _ = self.slots[int(t.group(1))]
            if value is None:
                return f'<span class="metric-missing">[{html.escape(missing)}]</span>'
            return html_text if html_text is not None else html.escape(value)

        return re.sub(r"BOOKSLOT(\d+)X", in_text, body)

    def pandoc(self, text):
        r = subprocess.run(["pandoc", "-f", "markdown-implicit_figures", "-t", "html5", "--katex",
                            "--wrap=none"], input=text, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"book: pandoc failed: {r.stderr.strip()}")
        # Pandoc sizes the columns of a pipe table with long rows from the lengths of its |---|
        # dashes (equal widths for the docs' tables, so a narrow "file" or "symbol" column takes a
        # third of the page); without the <colgroup> the browser sizes them to their content.
        html_out = re.sub(r"<colgroup>.*?</colgroup>\s*", "", r.stdout, flags=re.S)
        return self.fill_slots(html_out)

    # -- pieces of a chapter page -------------------------------------------------------------
    def checks_html(self, nn, run):
        out = ['<h2 id="verification">Verification table of this run</h2>']
        command = run.get("command", "").replace(str(self.root) + os.sep, "")  # paths as the reader types them
        out.append(f'<p>From <code>{html.escape(command)}</code>, finished '
                   f'{when(run)} ({run.get("seconds", 0):.0f} s'
                   f'{", --quick" if run.get("quick") else ""}). Error: identity, relative error; '
                   'gradient, worst relative error against central differences; Monte Carlo, '
                   'distance in standard errors; bound, lower minus upper. A row passes when '
                   'error &le; tolerance.</p>')
        for t, table in enumerate(run.get("tables", [])):
            out.append(f'<h3 id="table-{t + 1}">{html.escape(table.get("title") or f"Table {t + 1}")}</h3>')
            out.append('<table class="checks"><thead><tr><th>eq</th><th>claim</th><th>kind</th>'
                       '<th>analytic</th><th>numeric</th><th>error</th><th>tolerance</th>'
                       '<th>verdict</th></tr></thead><tbody>')
            for r in table.get("rows", []):
                verdict = "PASS" if r.get("pass") else "FAIL"
                eq = html.escape(r.get("id", ""))
                anchor = "eq-" + eq.replace(".", "-")
                eq_cell = f'<a href="#{anchor}">{eq}</a>' if re.fullmatch(r"\d+\.\d+", eq) else eq
                detail = r.get("detail", "")
                detail_html = f'<div class="detail">{html.escape(detail)}</div>' if detail else ""
                out.append(f'<tr class="{verdict}"><td>{eq_cell}</td><td>{html.escape(r.get("claim", ""))}'
                           f'{detail_html}</td><td>{html.escape(r.get("kind", ""))}</td>'
                           + "".join(f'<td class="num">{num(r.get(k))}</td>'
                                     for k in ("analytic", "numeric", "error", "tolerance"))
                           + f'<td class="verdict">{verdict}</td></tr>')
            out.append("</tbody></table>")
        return "\n".join(out)

    def figures_html(self, nn, names, captions, page_dir):
        out = []
        for name in names:
            src_dir = self.figures / f"ch{nn}"
            dst_dir = self.out / "figures" / f"ch{nn}"
            dst_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src_dir / f"{name}.png", dst_dir / f"{name}.png")
            links = []
            for ext in FIGURE_SOURCES:
                if (src_dir / f"{name}{ext}").is_file():
                    shutil.copy2(src_dir / f"{name}{ext}", dst_dir / f"{name}{ext}")
                    links.append(f'<a href="figures/ch{nn}/{name}{ext}">{ext[1:].upper() if ext in (".pdf", ".svg") else ext}</a>')
            caption = inline_markdown(captions.get(name, ""))
            out.append(f'<figure id="fig-{name}"><a href="figures/ch{nn}/{name}.png">'
                       f'<img src="figures/ch{nn}/{name}.png" alt="{html.escape(name)}"></a>'
                       f'<figcaption><b><code>{name}.png</code></b> {caption} · {" · ".join(links)}'
                       f'</figcaption></figure>')
        return "\n".join(out)

    def figure_captions(self, text):
        """{name: caption} from the doc's table rows | `name.png` | what it shows |, where the first
        cell may name several figures (| `a.png`, `b.png` | ... |: each gets the caption)."""
        caps = {}
        for m in re.finditer(r"^\|((?:\s*`[\w.-]+\.png`\s*,?)+)\|(.*)\|\s*$", text, flags=re.M):
            for name in re.findall(r"`([\w.-]+)\.png`", m.group(1)):
                caps[name] = m.group(2).strip()
        return caps

    # -- pages -------------------------------------------------------------------------------
    def page(self, filename, title, body, nav):
        (self.out / filename).write_text(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title>"
            '<link rel="stylesheet" href="katex/katex.min.css"><link rel="stylesheet" href="book.css">'
            '<script src="katex/katex.min.js"></script></head>\n<body>'
            f'<nav class="top">{nav}</nav><main>\n{body}\n</main>'
            '<script src="book.js"></script></body></html>\n')

    def nav(self, prev=None, nxt=None):
        parts = ['<a href="index.html">Contents</a>', '<a href="errata.html">Lecture errata</a>',
                 '<span class="spacer"></span>']
        if prev:
            parts.append(f'<a href="{prev[0]}">&larr; {html.escape(prev[1])}</a>')
        if nxt:
            parts.append(f'<a href="{nxt[0]}">{html.escape(nxt[1])} &rarr;</a>')
        return "".join(parts)

    def render_markdown_page(self, doc, page, nn=None, figure_names=()):
        text = doc.read_text()
        body = self.pandoc(self.preprocess(text, page, nn, set(figure_names), self.out))
        m = re.search(r"^# (.+)$", text, flags=re.M)
        return (m.group(1).strip() if m else doc.stem), body

    def chapter(self, nn, doc, prev, nxt):
        page = doc.stem + ".html"
        run = self.run(nn)
        fig_dir = self.figures / f"ch{nn}"
        if run:
            names = [f[:-4] for f in run.get("figures", []) if f.endswith(".png") and (fig_dir / f).is_file()]
        else:
            names = []
        title, body = self.render_markdown_page(doc, page, nn, names)
        text = doc.read_text()
        banners = []
        if not run:
            banners.append(("stale", f"No run record in <code>{html.escape(shown_path(fig_dir, self.root))}</code>: no figures "
                                     f"and no verification table. Run <code>./course figures</code> "
                                     f"(or <code>./course run {nn}</code>) and build the book again."))
            self.problems.append((page, "no run record (run.json): no figures, no verification table"))
        else:
            failed = sum(1 for t in run.get("tables", []) for r in t.get("rows", []) if not r.get("pass"))
            rows = sum(len(t.get("rows", [])) for t in run.get("tables", []))
            if failed:
                banners.append(("fail", f"{failed} of {rows} checks FAILED in the run that made these figures "
                                        f"(<a href=\"#verification\">table</a>)."))
                self.problems.append((page, f"{failed} check(s) failed in the run"))
            if not rows:
                banners.append(("fail", "The run recorded no verification table."))
                self.problems.append((page, "the run record has no verification table"))
            newer = self.code_changed_since(nn, self.run_files[nn].stat().st_mtime)
            if newer:
                shown = ", ".join(f"<code>{html.escape(n)}</code>" for n in newer[:6])
                more = f" and {len(newer) - 6} more" if len(newer) > 6 else ""
                banners.append(("stale", f"The table and figures are older than the code: {shown}{more} "
                                         "changed since the run. Run <code>./course figures</code> again."))
                self.problems.append((page, f"the run is older than {len(newer)} source file(s)"))
            if run.get("failed_figures"):
                banners.append(("fail", "gnuplot could not draw: " + ", ".join(run["failed_figures"])))
            quick = (" These figures and numbers come from a <code>--quick</code> run (seconds, on small "
                     "data); <code>./course figures</code> makes the full ones.") if run.get("quick") else ""
            if not failed and rows:
                banners.insert(0, ("info", f"All {rows} checks of this chapter pass in the run of "
                                           f"{when(run)} (<a href=\"#verification\">verification table</a>).{quick}"))
            elif quick:
                banners.append(("info", quick.strip()))
        sources = self.chapter_sources(nn)
        exercise = [s for s in sources if s.startswith("exercises/include/")]
        links = ['<div class="links"><b>Run it:</b> <code>./course run ' + nn + '</code> (add <code>--quick</code> '
                 'for a run of seconds) · <b>Check your exercises:</b> <code>./course check ' + nn + '</code>']
        if exercise:
            links.append(" · <b>Exercise statement:</b> " + ", ".join(
                f'<a href="{self.link_source(e, self.out)}">{html.escape(pathlib.Path(e).name)}</a>' for e in exercise))
        links.append("<br><b>Sources:</b> " + " · ".join(
            f'<a href="{self.link_source(s, self.out)}">{html.escape(s)}</a>' for s in sources
            if not s.startswith("exercises/include/")))
        links.append("</div>")
        # The page: title, banners and links; the doc; the table before its Figures section and
        # the figures inside it (or both at the end).
        h1 = re.search(r"<h1[^>]*>.*?</h1>", body, flags=re.S)
        head = h1.group(0) if h1 else f"<h1>{html.escape(title)}</h1>"
        rest = body[h1.end():] if h1 else body
        top = head + "".join(f'<div class="banner {k}">{t}</div>' for k, t in banners) + "".join(links)
        checks = self.checks_html(nn, run) if run and run.get("tables") else ""
        gallery = self.figures_html(nn, names, self.figure_captions(text), self.out) if names else ""
        sections = re.split(r"(?=<h2 )", rest)
        fig_i = next((i for i, s in enumerate(sections) if re.match(r'<h2 id="figures', s)), None)
        if fig_i is None:
            sections += [checks, ('<h2 id="figures">Figures</h2>' if gallery else "") + gallery]
        else:
            sections[fig_i] = checks + sections[fig_i] + gallery
        self.page(page, title, top + "".join(sections), self.nav(prev, nxt))
        return title, run

    def source_page(self, rel):
        path = self.root / rel
        dst = self.out / "src" / (rel + ".html")
        dst.parent.mkdir(parents=True, exist_ok=True)
        lines = path.read_text(errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        body = "".join(f'<span class="l" id="L{i + 1}">{html.escape(l) or " "}</span>' for i, l in enumerate(lines))
        up = os.path.relpath(self.out, dst.parent)
        dst.write_text(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(rel)}</title><link rel=\"stylesheet\" href=\"{up}/book.css\"></head><body>"
            f'<nav class="top"><a href="{up}/index.html">Contents</a><span class="spacer"></span>'
            f"<code>{html.escape(rel)}</code></nav><main style=\"max-width:none\">"
            f'<pre class="source">{body}</pre></main></body></html>\n')

    def build(self):
        if shutil.which("pandoc") is None:
            raise SystemExit("book: pandoc not found (Debian: apt-get install pandoc; ./course book installs it)")
        katex = next((d for d in KATEX_DIRS if (d / "katex.min.js").is_file()), None)
        if katex is None:
            raise SystemExit("book: KaTeX not found in /usr/share/javascript/katex (Debian: apt-get install libjs-katex)")
        if self.out.exists():
            if any(self.out.iterdir()) and not (self.out / "book.css").is_file():
                raise SystemExit(f"book: {self.out} is not empty and not a book; not overwriting it")
            shutil.rmtree(self.out)
        self.out.mkdir(parents=True)
        shutil.copytree(katex / "fonts", self.out / "katex" / "fonts")  # follows Debian's symlink
        for f in ("katex.min.js", "katex.min.css"):
            shutil.copy2(katex / f, self.out / "katex" / f)
        (self.out / "book.css").write_text(CSS)
        (self.out / "book.js").write_text(SCRIPT)

        chapters = self.chapters()
        titles = {nn: re.search(r"^# (.+)$", doc.read_text(), flags=re.M) for nn, doc in chapters}
        titles = {nn: (m.group(1).strip() if m else nn) for nn, m in titles.items()}
        toc = []
        for i, (nn, doc) in enumerate(chapters):
            prev = (chapters[i - 1][1].stem + ".html", f"Chapter {int(chapters[i - 1][0])}") if i else None
            nxt = (chapters[i + 1][1].stem + ".html", f"Chapter {int(chapters[i + 1][0])}") if i + 1 < len(chapters) else None
            title, run = self.chapter(nn, doc, prev, nxt)
            if run:
                rows = [r for t in run.get("tables", []) for r in t.get("rows", [])]
                bad = sum(1 for r in rows if not r.get("pass"))
                pngs = sum(1 for f in run.get("figures", []) if f.endswith(".png"))  # not the PDF/SVG copies
                status = (f'<span class="bad">{bad} of {len(rows)} checks FAILED</span>' if bad else
                          f'<span class="ok">{len(rows)} checks pass</span>') + \
                         f', {pngs} figures{" (--quick run)" if run.get("quick") else ""}'
            else:
                status = '<span class="bad">not run yet</span>'
            toc.append(f'<li><a href="{doc.stem}.html">{html.escape(title)}</a> — {status}</li>')

        guides = []
        for stem, label in (("students", "For students"), ("instructors", "For instructors"),
                            ("errata", "Lecture errata")):
            doc = self.root / "docs" / f"{stem}.md"
            if not doc.is_file():
                self.problems.append((f"{stem}.html", f"docs/{stem}.md is missing"))
                continue
            title, body = self.render_markdown_page(doc, f"{stem}.html")
            self.page(f"{stem}.html", title, body, self.nav())
            guides.append(f'<li><a href="{stem}.html">{html.escape(title)}</a></li>')

        for rel in sorted(self.sources):
            self.source_page(rel)

        built = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        problems = "".join(f"<li>{html.escape(p)}: {html.escape(t)}</li>" for p, t in self.problems)
        index = (f"<h1>Autoencoders to VQ-VAE, every derivation verified</h1>"
                 f"<p>Each chapter is its doc with the figures and the verification table of the run that "
                 f"made them (from <code>{html.escape(shown_path(self.figures, self.root))}</code>); every tagged equation "
                 f"links to the tests that verify it. Built {built}.</p>"
                 + (f'<div class="banner stale"><b>{len(self.problems)} problem(s):</b><ul>{problems}</ul></div>'
                    if self.problems else "")
                 + f'<h2 id="chapters">Chapters</h2><ul class="toc">{"".join(toc)}</ul>'
                 + f'<h2 id="guides">Guides</h2><ul class="toc">{"".join(guides)}</ul>')
        self.page("index.html", "The course book", index, self.nav())
        return self.problems


def shown_path(path, root):
    """A path as the reader would type it from the repository: relative when it is inside it."""
    try:
        return str(pathlib.Path(path).relative_to(root)) + "/"
    except ValueError:
        return str(path)


def inline_markdown(text):
    """A table cell's Markdown as HTML: $math$ and `code` (what the docs' figure tables use)."""
    parts = re.split(r"(\$[^$]+\$|`[^`]+`)", text)
    out = []
    for p in parts:
        if p.startswith("$") and p.endswith("$") and len(p) > 1:
            out.append(f'<span class="math inline">{html.escape(p[1:-1])}</span>')
        elif p.startswith("`") and p.endswith("`") and len(p) > 1:
            out.append(f"<code>{html.escape(p[1:-1])}</code>")
        else:
            out.append(html.escape(p).replace("**", ""))
    return "".join(out)


def tex_text(s):
    """Plain text for inside \\text{...} or \\texttt{...}: TeX's special characters escaped."""
    special = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
               "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}
    return "".join(special.get(c, c) for c in s)


def when(run):
    """The run's finishing time, "2026-12-01 09:27 UTC"."""
    t = run.get("finished", "?")
    return html.escape(t[:16].replace("T", " ") + " UTC" if re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", t) else t)


def num(x):
    if x is None:
        return "nan"
    if x == 0:
        return "0"
    a = abs(x)
    return f"{x:.6g}" if 1e-3 <= a < 1e6 else f"{x:.3e}"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render docs/ and the chapter runs into the course book.")
    ap.add_argument("--figures", default=str(ROOT / "figures"), help="the chapter runs' output (default figures/)")
    ap.add_argument("--out", default=str(ROOT / "book"), help="where the book goes (default book/)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any page has a problem")
    args = ap.parse_args(argv)
    figures = pathlib.Path(args.figures).resolve()
    out = pathlib.Path(args.out).resolve()
    if out == ROOT or out in ROOT.parents or out == figures or (ROOT / "docs") in [out, *out.parents]:
        print(f"book: refusing to write the book into {out}", file=sys.stderr)
        return 2
    problems = Book(ROOT, figures, out).build()
    for page, text in problems:
        print(f"book: {page}: {text}", file=sys.stderr)
    print(f"book: {out / 'index.html'} ({len(problems)} problem(s))")
    return 1 if problems and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
