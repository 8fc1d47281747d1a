"""A page as a reader sees it, for the browser tests: CHECK (run in the page) lists what
reads wrong; Reader opens pages in Chromium, collects their JS errors and requests leaving
the machine, and photographs them at each width into SCREENSHOTS (outside git)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs

from conftest import ROOT

SCREENSHOTS = Path(os.environ.get("TALENT_TRACKER_SCREENSHOTS", ROOT / "test-artifacts" / "pages"))
WIDTHS = (1400, 390)
# In the page: what a reader would see wrong. A label is any text of a chart's SVG; it is cut
# when its box leaves the chart's box. A share column's cells end in %; no cell is a bare
# decimal. A year axis ticks whole years.
CHECK = """() => {
  const problems = [];
  const sections = [...document.querySelectorAll('section.chart')];
  for (const s of sections) {
    const name = s.dataset.chart, plot = s.querySelector('.plot');
    const empty = s.querySelector('.empty')?.textContent.trim() || '';
    const drawn = !plot.hidden && plot.querySelector('.main-svg');
    if (!drawn && !empty) problems.push(`${name}: neither a chart nor a sentence`);
    if (drawn && !plot.querySelectorAll('g.point path, path.js-line, .sankey-node, path.choroplethlocation, g.slice').length)
      problems.push(`${name}: an empty plot area`);
    if (drawn) {
      const box = plot.getBoundingClientRect();
      for (const t of plot.querySelectorAll('svg text')) {
        const r = t.getBoundingClientRect();
        if (!t.textContent.trim() || r.width === 0) continue;
        if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
          problems.push(`${name}: label "${t.textContent}" cut by its chart`);
      }
      const title = [...plot.querySelectorAll('.g-xtitle text, .g-ytitle text')].map((t) => t.textContent).join(' ');
      if (/share|%/.test(title)) {
        const ticks = [...plot.querySelectorAll(/%/.test(plot.querySelector('.g-xtitle text')?.textContent || '') ? 'g.xtick text' : 'g.ytick text')];
        if (ticks.some((t) => !t.textContent.endsWith('%'))) problems.push(`${name}: a share axis without %`);
      }
      if (/year/.test(plot.querySelector('.g-xtitle text')?.textContent || '')) {
        if ([...plot.querySelectorAll('g.xtick text')].some((t) => !/^\\d{4}$/.test(t.textContent)))
          problems.push(`${name}: a year axis with ticks that are not years`);
      }
    }
    const table = s.querySelector('table.data');
    const head = [...table.querySelectorAll('th')].map((th) => th.textContent);
    for (const row of table.querySelectorAll('tbody tr')) {
      [...row.cells].forEach((cell, i) => {
        const text = cell.textContent;
        if (/^-?[\\d,]*\\.\\d+$/.test(text)) problems.push(`${name}: a bare decimal "${text}" in ${head[i]}`);
        if (/(share|retention|coverage)/.test(head[i] || '') && text && !/%$/.test(text) && text !== '—')
          problems.push(`${name}: a share "${text}" not in percent (${head[i]})`);
      });
    }
    if (drawn && !plot.getAttribute('aria-label')) problems.push(`${name}: a chart without a text alternative`);
  }
  const counts = Object.fromEntries(sections.filter((s) => s.dataset.counts).map((s) => [s.dataset.chart, JSON.parse(s.dataset.counts)]));
  return {problems, counts, method: Object.fromEntries(sections.map((s) => [s.dataset.chart, s.querySelector('.chart-method').textContent]))};
}"""


class Reader:
    """One browser page reading the tracker, collecting its JS errors and outside requests."""

    def __init__(self, browser, width: int = WIDTHS[0]):
        self.page = browser.new_page(viewport={"width": width, "height": 1000}, accept_downloads=True)
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.outside.append(r.url) if not r.url.startswith(
            ("http://127.0.0.1", "file://", "data:", "blob:")) else None)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.ready()

    def ready(self, before: str | None = None) -> None:
        # locators, not wait_for_function: its string predicates are eval'd, which the CSP refuses
        selector = "body[data-ready]" if before is None else f"body[data-ready]:not([data-ready='{before}'])"
        self.page.locator(selector).wait_for(state="attached", timeout=60000)

    def choose(self, select: str, value: str) -> None:
        before = self.page.evaluate("document.body.dataset.ready")
        self.page.select_option(select, value)
        self.ready(before)

    def check(self, shot: str) -> dict:
        """The page's problems at each width (photographed there), and its counts."""
        found: dict = {}
        for width in WIDTHS:
            self.resize(width)
            result = self.page.evaluate(CHECK)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{shot}_{width}.png"), full_page=True)
            found.setdefault("problems", []).extend(f"{width}px {p}" for p in result["problems"])
            found["counts"], found["method"] = result["counts"], result["method"]
        self.resize(WIDTHS[0])
        return found

    def resize(self, width: int) -> None:
        """A new width: a page crossing the phone width (600 px) draws its charts again."""
        before = self.page.evaluate("[document.body.dataset.ready, window.innerWidth]")
        self.page.set_viewport_size({"width": width, "height": 1000})
        if (before[1] <= 600) != (width <= 600):
            self.ready(before[0])
        self.page.wait_for_timeout(300)  # plotly lays a responsive chart out again on resize

    def view(self) -> dict:
        return {k: v[0] for k, v in parse_qs(self.page.evaluate("location.hash").lstrip("#")).items()}

    def close(self) -> None:
        self.page.close()
