"""Drive the draw page in a real, headless Chromium: the browser test and the docs
screenshot (docs/images/draw_page.png) share this code path.

    serve_in_thread(app) -> (url, stop)       the app on 127.0.0.1, an ephemeral port
    chromium() -> WebDriver                   Debian's chromium + chromium-driver, headless
    driven() -> WebDriver, quit after         the same for a `with` block, errors in one line
    draw(driver, strokes)                     pointer events along strokes (canvas pixels)
    character_strokes_on_canvas(ch)           KanjiVG's strokes of a character, as a person draws
    wait_for_answer(driver) -> [top chars]    once the page is idle with predictions and layers
    screenshot(app, path, ch) -> [top chars]  all of the above, for docs/images/draw_page.png

Selenium is an optional extra (pip install -e ".[app]"); Chromium comes from the system
(`apt-get install chromium chromium-driver`), never downloaded at run time.
"""

from __future__ import annotations

import contextlib
import shutil
import threading

import numpy as np

from ..errors import BrowserError

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_PATHS = ("/usr/bin/chromedriver",)


def find_chromium() -> tuple[str, str]:
    """(browser, driver) paths, or BrowserError saying what to install."""
    browser = next((p for p in CHROMIUM_PATHS if shutil.which(p)), None)
    driver = next((p for p in DRIVER_PATHS if shutil.which(p)), shutil.which("chromedriver"))
    if not browser or not driver:
        raise BrowserError("no Chromium and chromedriver here; install Debian's packages: "
                           "apt-get install chromium chromium-driver")
    return browser, driver


def chromium(width: int = 1200, height: int = 900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_chromium()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    # Headless, and quiet on the network: this machine reaches no outside host.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=opts)


@contextlib.contextmanager
def driven(width: int = 1200, height: int = 900):
    """A headless Chromium for the block, quit after it; the browser's own failures are a
    BrowserError of one line."""
    from selenium.common.exceptions import WebDriverException

    driver = None
    try:
        driver = chromium(width, height)
        yield driver
    except WebDriverException as e:
        first = (e.msg or str(e)).strip().splitlines()[0][:200]
        raise BrowserError(f"the browser failed: {first}") from None
    finally:
        if driver is not None:
            driver.quit()


def serve_in_thread(app):
    """Run a WSGI app on 127.0.0.1 at a free port, as serve.py does: (url, stop())."""
    from .server import make_server

    server = make_server(app)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop():
        server.close()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.effective_port}", stop


def character_strokes_on_canvas(ch: str, size: int = 280, margin: float = 0.12,
                                per_stroke: int = 24) -> list[np.ndarray]:
    """A character's KanjiVG strokes as pointer paths on a size x size canvas."""
    from ..synth.strokes import KANJIVG_BOX, character_strokes, sample_cubic

    scale = size * (1 - 2 * margin) / KANJIVG_BOX
    out = []
    for segs in character_strokes(ch):
        t = np.linspace(0, 1, max(2, per_stroke // len(segs)), endpoint=False)
        pts = np.concatenate([sample_cubic(seg, t) for seg in segs] + [segs[-1][3:4]])
        out.append(pts * scale + size * margin)
    return out


def draw(driver, strokes, canvas_id: str = "canvas") -> None:
    """Press, move and release the pointer along each stroke (canvas pixel coordinates)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, canvas_id)
    shown = canvas.size["width"] / float(canvas.get_attribute("width"))
    half_w, half_h = canvas.size["width"] / 2, canvas.size["height"] / 2
    for stroke in strokes:
        pts = [(float(x) * shown - half_w, float(y) * shown - half_h) for x, y in stroke]
        chain = ActionChains(driver, duration=10)
        chain.move_to_element_with_offset(canvas, *map(round, pts[0])).click_and_hold()
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            chain.move_by_offset(round(x1) - round(x0), round(y1) - round(y0))
        chain.release().perform()


_ANSWER = """
if (document.body.dataset.state !== "idle") return null;
const top = [...document.querySelectorAll("#top li .char")].map((e) => e.textContent);
const layers = document.querySelectorAll("#layers canvas").length;
const input = document.querySelectorAll("#input canvas").length;
return top.length && layers && input ? top : null;
"""


def wait_for_answer(driver, timeout: float = 30) -> list[str]:
    """The top-5 characters once the page is idle with predictions and layer pictures."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(_ANSWER))


def screenshot(app, path: str, ch: str) -> list[str]:
    """Open the page, draw `ch` from KanjiVG's strokes, save a screenshot: the top 5."""
    url, stop = serve_in_thread(app)
    try:
        with driven() as driver:
            driver.get(url)
            draw(driver, character_strokes_on_canvas(ch))
            top = wait_for_answer(driver)
            driver.save_screenshot(str(path))
            return top
    finally:
        stop()
