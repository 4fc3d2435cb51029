"""Headless Chromium driven over the DevTools protocol, for testing pages as a reader sees them.

Starts Debian's `chromium` on a loopback debugging port with a fresh profile, opens a page,
records console messages, uncaught exceptions, log entries and every network request, runs
JavaScript in the page and takes screenshots. Needs only websocket-client (in the lock).
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Dict, List, Optional

import websocket

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0"]


def chromium_binary() -> Optional[str]:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One Chromium process with one page; use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 1000, timeout: float = 60.0):
        self.width, self.height, self.timeout = width, height, timeout
        self.messages: List[dict] = []   # console, exceptions and log entries
        self.requests: List[str] = []    # every URL the page asked for
        self._next_id = 0

    def __enter__(self) -> "Browser":
        binary = chromium_binary()
        if binary is None:
            raise RuntimeError("chromium is not installed (./dev test installs it with apt)")
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.log = open(os.path.join(self.profile, "chromium.log"), "w")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT)
        port = self._port()
        target = self._page_target(port)
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"],
                                              timeout=self.timeout, suppress_origin=True)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.ws.close()
        except Exception:  # the browser may already be gone; cleanup continues
            pass
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _port(self) -> int:
        path = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}; see "
                                   f"{self.log.name}")
            if os.path.exists(path):
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its debugging port")

    def _page_target(self, port: int) -> dict:
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
                pages = [t for t in json.load(response) if t.get("type") == "page"]
            if pages:
                return pages[0]
            time.sleep(0.1)
        raise TimeoutError("chromium has no page target")

    def _record(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in params.get("args", []))
            self.messages.append({"source": "console", "level": params.get("type"),
                                  "text": text})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            self.messages.append({"source": "exception", "level": "error", "text": text})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.messages.append({"source": f"log:{entry.get('source')}",
                                  "level": entry.get("level"), "text": entry.get("text"),
                                  "url": entry.get("url", "")})
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))

    def call(self, method: str, **params) -> dict:
        self._next_id += 1
        call_id = self._next_id
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message)

    def wait_for(self, event: str, timeout: Optional[float] = None) -> dict:
        deadline = time.time() + (timeout or self.timeout)
        while time.time() < deadline:
            message = json.loads(self.ws.recv())
            self._record(message)
            if message.get("method") == event:
                return message.get("params", {})
        raise TimeoutError(f"no {event} within {timeout or self.timeout} s")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        # Let late console messages and layout settle before anything is measured.
        self.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 200)))")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def screenshot(self, path: str, clip: Optional[Dict[str, float]] = None) -> str:
        """A PNG of the whole page (or of `clip`: x, y, width, height in page pixels)."""
        params = {"format": "png", "captureBeyondViewport": True}
        if clip is None:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
        params["clip"] = {**clip, "scale": 1}
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path
