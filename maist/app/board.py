"""TensorBoard over runs, read in a real, headless Chromium: the docs' screenshots and the
TensorBoard test share this code path, as the draw page's do (app.browser).

    started(logdir) -> (url, stop)          `tensorboard --logdir` on 127.0.0.1, a free port,
                                            once it answers
    TABS                                    the tabs looked at, and what each must show
    screenshots(url, out) -> [Path]         each tab opened, its text waited for, saved as
                                            OUT/tensorboard_TAB.png

What a tab shows is read from its text, through the shadow roots of TensorBoard's custom
elements (the projector lives in frames of its own). A tab whose text never comes is a
BrowserError that names it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ..errors import BrowserError
from ..nets.backend import child_env
from .browser import driven

# tab -> what its text must hold for a MAIST run of the expert (a regular expression)
TABS = {
    "images": "filters/W_conv1/image",
    "histograms": "weights/W_fc1",
    "distributions": "activations/h_fc1",
    "projector": "Points: [1-9]",  # the embedding loaded
}
WAIT = 60  # seconds for TensorBoard to answer, and for a tab to show its text

# Every text node of the document, shadow roots included, as one string.
_TEXT = """
const parts = [];
const walk = (n) => { if (n.shadowRoot) walk(n.shadowRoot);
  for (const c of n.childNodes) { if (c.nodeType === 3) parts.push(c.textContent); else walk(c); } };
walk(document.body);
return parts.join(' ').replace(/\\s+/g, ' ');
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(logdir: str | Path, wait: float = WAIT):
    """TensorBoard over `logdir` in a child process on 127.0.0.1: (url, stop())."""
    port = free_port()
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
           "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=child_env(os.environ))
    url = f"http://127.0.0.1:{port}"

    def stop():
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            why = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
            raise BrowserError(f"TensorBoard did not start: {''.join(why)[:200]}")
        try:
            with urllib.request.urlopen(f"{url}/data/runs", timeout=2) as r:
                if r.status == 200:
                    return url, stop
        except OSError:
            time.sleep(0.5)
    stop()
    raise BrowserError(f"TensorBoard did not answer on {url} within {wait:g} s")


def _text_of(driver, tab: str) -> str:
    """The tab's text; an iframe plugin's (the projector: a frame in a frame) from the
    innermost frame."""
    from selenium.webdriver.common.by import By

    driver.switch_to.default_content()
    if tab == "projector":
        while frames := driver.find_elements(By.TAG_NAME, "iframe"):
            driver.switch_to.frame(frames[0])
    return driver.execute_script(_TEXT) or ""


def screenshots(url: str, out: str | Path, width: int = 1400,
                height: int = 1000, wait: float = WAIT) -> list[Path]:
    """Each tab of TABS opened in headless Chromium, waited for until its text shows, then
    saved as OUT/tensorboard_TAB.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with driven(width, height) as driver:
        for tab, want in TABS.items():
            driver.get(f"{url}/#{tab}")
            deadline = time.monotonic() + wait
            while not re.search(want, _text_of(driver, tab)):
                if time.monotonic() > deadline:
                    raise BrowserError(f"TensorBoard's {tab} tab never showed {want!r} "
                                       f"within {wait:g} s")
                time.sleep(0.5)
            time.sleep(2)  # pictures and plots drawn after their text
            driver.switch_to.default_content()
            path = out / f"tensorboard_{tab}.png"
            driver.save_screenshot(str(path))
            saved.append(path)
    return saved
