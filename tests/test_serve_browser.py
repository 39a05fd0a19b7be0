"""sentae serve in a real browser: headless Chromium, driven over the Chrome DevTools Protocol (on a pipe, so
nothing but the standard library is needed), types a sentence, presses Rewrite, reads the result from the page and
takes a screenshot. Skipped, saying so, where Chromium is not installed (Debian: ``apt-get install chromium``).

Also a script that writes the screenshot of the documentation from a real run:
``python tests/test_serve_browser.py runs/quickstart docs/figures/serve_explorer.png``."""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return os.environ.get("SENTAE_CHROMIUM") or next((p for p in map(shutil.which, BROWSERS) if p), None)


PLACE_FDS = ("import fcntl, os, sys; a, b = (fcntl.fcntl(int(f), fcntl.F_DUPFD, 10) for f in sys.argv[1:3]); "
             "os.dup2(a, 3); os.dup2(b, 4); os.execv(sys.argv[3], sys.argv[3:])")


class Chromium:
    """Headless Chromium with its DevTools Protocol on fds 3 (commands in) and 4 (replies out), NUL-separated
    JSON messages; one page, attached in flat mode so every command names the page's session."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="sentae-chromium-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        args = [binary, "--headless", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
                # the sandbox needs kernel features that containers and CI runners often lack; the browser only
                # loads the test's own page on 127.0.0.1
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
                f"--window-size={width},{height}", "about:blank"]
        # The pipe must be the child's fds 3 and 4: a small Python puts it there, then becomes Chromium (a shell
        # cannot: dash takes single-digit fds only, and pytest's own files push ours past 9).
        self.proc = subprocess.Popen([sys.executable, "-c", PLACE_FDS, str(to_child), str(from_child), *args],
                                     pass_fds=(to_child, from_child), stdout=subprocess.DEVNULL,
                                     stderr=open(Path(self.profile) / "stderr.log", "wb"))
        os.close(to_child)
        os.close(from_child)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session = None
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def send(self, method: str, params: dict | None = None, session: bool = True, timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._write, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next(deadline - time.monotonic())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def _next(self, timeout: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._read], [], [], max(timeout, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                log = (Path(self.profile) / "stderr.log").read_text(errors="replace").strip().splitlines()
                raise RuntimeError("Chromium closed its DevTools pipe; its last words:\n" + "\n".join(log[-8:]))
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def js(self, expression: str):
        """The value of a JavaScript expression in the page (awaited if it is a promise)."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.js(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"waited {timeout:g} s for {expression}")

    def type_into(self, element_id: str, text: str) -> None:
        """Focus an input, select what it holds and type ``text`` over it (real key input, not a value set)."""
        self.js(f"(e => {{ e.focus(); e.select(); }})(document.getElementById({json.dumps(element_id)}))")
        self.send("Input.insertText", {"text": text})

    def click(self, element_id: str) -> None:
        """A mouse press and release at the middle of the element, as a user's click."""
        x, y = self.js(f"(r => [r.x + r.width / 2, r.y + r.height / 2])"
                       f"(document.getElementById({json.dumps(element_id)}).getBoundingClientRect())")
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: Path) -> None:
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        png = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        Path(path).write_bytes(base64.b64decode(png["data"]))

    def problems(self) -> list[str]:
        """Script errors and console errors the page raised (a CSP refusal is one), except a missing favicon."""
        out = []
        for e in self.events:
            if e["method"] == "Runtime.exceptionThrown":
                out.append(str(e["params"]["exceptionDetails"].get("exception", {}).get("description")))
            elif e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                entry = e["params"]["entry"]
                if "favicon" not in entry.get("url", ""):
                    out.append(entry["text"])
        return out

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)


def serving(run, map_sentences: int):
    """A server for ``run`` on a free loopback port, serving in a thread."""
    import sentae
    from sentae.serve import Explorer, make_server

    server = make_server(Explorer(sentae.load(run), map_sentences, run_label=Path(run).name), port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def rewrite_in_browser(browser: Chromium, url: str, text: str, attributes: dict[str, str]) -> str:
    """Open the page, type ``text``, choose ``attributes``, press Rewrite and return the result the page shows."""
    browser.send("Page.navigate", {"url": url})
    browser.wait_for("document.body && document.body.dataset.ready")
    assert browser.js("document.body.dataset.ready") == "1", browser.js("document.getElementById('model').textContent")
    browser.type_into("rewrite-text", text)
    for name, value in attributes.items():
        browser.js(f"(s => {{ s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change')); }})"
                   f"(document.getElementById({json.dumps('rewrite-attr-' + name)}))")
    browser.click("rewrite-btn")
    state = browser.wait_for("['done', 'error'].includes(document.getElementById('rewrite').dataset.state) && "
                             "document.getElementById('rewrite').dataset.state")
    assert state == "done", browser.js("document.querySelector('#rewrite .error').textContent")
    return browser.js("document.getElementById('rewrite-result').textContent")


SMALL = {"size": 600, "seed": 3}


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium), so the browser test "
                    "of sentae serve did not run; the endpoint tests in test_serve.py did")
    b = Chromium(binary)
    yield b
    b.close()


@pytest.fixture(scope="module")
def tiny_run(browser, tmp_path_factory) -> Path:  # after `browser`: no training where the test is skipped
    import sentae

    recipe = {"name": "tiny_ctrl", "data": {"source": "reviews", "options": SMALL},
              "model": {"type": "ctrl_vae", "embedding_size": 11, "hidden_size": 13, "latent_size": 7,
                        "classifier_embedding": 9, "classifier_filters": 10, "control_start_step": 10,
                        "generated_length": 8, "generated_batch": 5},
              "train": {"max_steps": 20, "batch_size": 16, "eval_every": 0, "ckpt_every": 0, "progress": "none",
                        "threads": 1}}
    return sentae.train(recipe, out=tmp_path_factory.mktemp("tiny_ctrl") / "run").path


def test_type_a_sentence_press_rewrite_and_read_the_result(browser, tiny_run, tmp_path):
    import sentae

    server = serving(tiny_run, 20)
    try:
        text, attrs = "the waiter was rude and the soup was cold .", {"sentiment": "positive", "tense": "future"}
        shown = rewrite_in_browser(browser, server.url, text, attrs)
        assert shown == sentae.load(tiny_run).transfer([text], attrs)[0]  # what the page shows is the model's
        assert browser.js("document.getElementById('rewrite-recon').textContent") != ""
        # the typed sentence is marked on the latent map beside the held-out points
        browser.wait_for("document.getElementById('map-marker') !== null")
        assert browser.js("document.querySelectorAll('#map-svg circle').length") == 20
        assert browser.js("document.getElementById('map-placed').textContent") == f"marked: {text}"
        # markup typed by a user is shown as text: no element is made from it
        html = 'the <img src=x id="typed-img"> soup <b>was</b> cold .'
        rewrite_in_browser(browser, server.url, html, {"sentiment": "positive"})
        browser.wait_for("document.getElementById('map-placed').textContent.startsWith('marked: the <img')")
        assert browser.js("document.getElementById('typed-img') === null && "
                          "document.querySelectorAll('#rewrite *, #map-placed *').length === "
                          "document.querySelectorAll('#rewrite *').length")
        assert browser.js("document.getElementById('map-placed').children.length") == 0
        shot = tmp_path / "serve_explorer.png"
        browser.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        assert browser.problems() == []  # no script error, no policy refusal
    finally:
        server.shutdown()
        server.server_close()


def _docs_screenshot(run: str, out: str) -> None:
    """The documentation's screenshot: a real run, a rewrite, the typed sentence on the map, a few samples."""
    binary = find_chromium()
    if binary is None:
        sys.exit("headless Chromium is not installed (apt-get install chromium)")
    server = serving(run, 300)
    browser = Chromium(binary, 1280, 1000)
    try:
        print(rewrite_in_browser(browser, server.url, "the waiter was rude and the soup was cold .",
                                 {"sentiment": "positive", "tense": "future"}))
        browser.wait_for("document.getElementById('map-marker') !== null")
        browser.js("document.getElementById('sample-attr-tense').value = 'past'")
        browser.js("document.getElementById('sample-seed').value = '3'")
        browser.click("sample-btn")
        browser.wait_for("document.getElementById('sample').dataset.state === 'done'")
        browser.click("interp-btn")
        browser.wait_for("document.getElementById('interpolate').dataset.state === 'done'")
        browser.screenshot(Path(out))
        print(f"wrote {out}; page problems: {browser.problems() or 'none'}")
    finally:
        browser.close()
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    _docs_screenshot(*sys.argv[1:3])
