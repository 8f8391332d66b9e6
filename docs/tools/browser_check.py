"""Checks the built site in a real headless browser.

Serves ``site/`` over HTTP, drives headless Chromium through the DevTools
protocol and checks, for every page: it renders (a title and a heading), every
image loads, no script throws, and (API pages) no docstring example shows as
prose instead of a code block. Then it types queries into the search box
and checks that each finds the page it should. Search runs in a web worker
that only starts over HTTP, which is why the site is served, not opened as
files.

Needs Chromium on the PATH (``chromium`` or ``google-chrome``) and the
``websocket-client`` package; ``make docs-browser`` installs the package and
builds the site first. Not part of CI (CI machines have no browser); the
strict build and the link check in ``tests/test_docs.py`` are.

Run: ``python -m docs.tools.browser_check [--site site]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

# Query -> a page path that must be among its results.
SEARCHES = {
  "huber": "gallery/",
  "focal_tversky": "api/overlap/",
  "vocab parallel": "lm/",
  "sharded_siglip_loss": "api/contrastive/",
  "softmax_cross_entropy_with_integer_labels": "api/optax/",
  "group_advantages": "api/lm/",
  "smoothed_ce_floor": "examples/demo/",
}


# Docstring examples rendered as prose (see rendered_examples.py):
# An 'Example' admonition, a block quote (Markdown reads doctest prompts
# as nested quotes) or a visible '>>>' outside a code block.
_PROSE_PROMPTS = (
  "Array.from(document.querySelectorAll('article details.example,"
  " article .admonition.example, article blockquote, article p,"
  " article li, article td'))"
  ".filter(e => !e.closest('pre') && (e.matches('.example, blockquote')"
  " || (!e.querySelector('pre') && e.textContent.includes('>>>'))))"
  ".map(e => e.textContent.slice(0, 80))"
)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
  def log_message(self, format, *args):  # noqa: A002 (the base's name)
    del format, args


@contextlib.contextmanager
def _serve(root: pathlib.Path):
  handler = functools.partial(_QuietHandler, directory=str(root))
  server = http.server.ThreadingHTTPServer(("127.0.0.1", _free_port()), handler)
  thread = threading.Thread(target=server.serve_forever, daemon=True)
  thread.start()
  try:
    yield f"http://127.0.0.1:{server.server_address[1]}/"
  finally:
    server.shutdown()


@contextlib.contextmanager
def _browser():
  exe = shutil.which("chromium") or shutil.which("google-chrome")
  if exe is None:
    sys.exit("browser_check: no chromium or google-chrome on the PATH")
  port = _free_port()
  with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
    proc = subprocess.Popen(
      [
        exe,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        f"--remote-debugging-port={port}",
        "--remote-allow-origins=*",
        "about:blank",
      ],
      stdout=subprocess.DEVNULL,
      stderr=subprocess.DEVNULL,
    )
    try:
      for _ in range(100):
        try:
          with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as r:
            tabs = json.load(r)
          break
        except OSError:
          time.sleep(0.1)
      else:
        sys.exit("browser_check: Chromium did not open its debugging port")
      yield _Page([t for t in tabs if t["type"] == "page"][0])
    finally:
      proc.terminate()
      proc.wait(timeout=10)


class _Page:
  """The few DevTools-protocol calls the checks need."""

  def __init__(self, tab):
    import websocket  # deferred: only this tool needs it

    self._ws = websocket.create_connection(tab["webSocketDebuggerUrl"])
    self._id = 0
    self.exceptions: list[str] = []
    self._call("Page.enable")
    self._call("Runtime.enable")

  def _call(self, method, **params):
    self._id += 1
    self._ws.send(
      json.dumps({"id": self._id, "method": method, "params": params})
    )
    while True:
      message = json.loads(self._ws.recv())
      if message.get("method") == "Runtime.exceptionThrown":
        details = message["params"]["exceptionDetails"]
        self.exceptions.append(
          details.get("exception", {}).get("description", "")
        )
      if message.get("id") == self._id:
        return message

  def evaluate(self, expression):
    reply = self._call(
      "Runtime.evaluate", expression=expression, returnByValue=True
    )
    return reply["result"].get("result", {}).get("value")

  def open(self, url, settle=1.0):
    self.exceptions.clear()
    self._call("Page.navigate", url=url)
    for _ in range(100):
      if self.evaluate("document.readyState") == "complete":
        break
      time.sleep(0.1)
    time.sleep(settle)
    self._call("Runtime.evaluate", expression="0")  # collect late exceptions

  def search(self, query, timeout=15.0):
    self.evaluate(
      "(() => { const box = document.querySelector('input.md-search__input');"
      f" box.focus(); box.value = {json.dumps(query)};"
      " box.dispatchEvent(new Event('input', {bubbles: true}));"
      " box.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true})); })()"
    )
    deadline = time.monotonic() + timeout
    meta = ""
    while time.monotonic() < deadline:
      time.sleep(0.25)
      meta = self.evaluate(
        "(document.querySelector('.md-search-result__meta') || {}).textContent"
      )
      if meta and "Initializing" not in meta:
        break
    links = self.evaluate(
      "Array.from(document.querySelectorAll('.md-search-result__item a'))"
      ".map(a => a.getAttribute('href'))"
    )
    return meta, links or []


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--site", default="site", type=pathlib.Path)
  args = parser.parse_args(argv)
  pages = sorted(
    p.relative_to(args.site) for p in args.site.rglob("index.html")
  )
  if not pages:
    sys.exit(
      f"browser_check: no pages under {args.site}; run `make docs` first"
    )
  failures = []
  images = 0
  with _serve(args.site) as base, _browser() as page:
    for path in pages:
      folder = path.parent.as_posix()
      page.open(base if folder == "." else f"{base}{folder}/", settle=0.2)
      title = page.evaluate("document.title")
      heading = page.evaluate("!!document.querySelector('article h1')")
      broken = page.evaluate(
        "Array.from(document.images)"
        ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
      )
      images += page.evaluate("document.images.length") or 0
      if not title or not heading:
        failures.append(f"{path}: no title or heading")
      if broken:
        failures.append(f"{path}: images that did not load: {broken}")
      if page.exceptions:
        failures.append(f"{path}: script errors: {page.exceptions}")
      prose = page.evaluate(_PROSE_PROMPTS)
      if folder.startswith("api") and prose:
        failures.append(f"{path}: examples not rendered as code: {prose[:3]}")
    page.open(base, settle=1.0)
    for query, expected in SEARCHES.items():
      meta, links = page.search(query)
      found = any(link.startswith(base + expected) for link in links)
      print(f"search {query!r}: {meta.strip()}; {expected} among them: {found}")
      if not found:
        failures.append(f"search {query!r}: {expected} not among {links[:10]}")
  print(f"{len(pages)} pages, {images} images checked")
  for failure in failures:
    print("FAIL", failure)
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main())
