"""The draw page's server, through Flask's test client, and the page in a real Chromium."""

import base64
import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import HIRAGANA71, shape, tiny_data
from PIL import Image

pytest.importorskip("flask", reason="the draw page needs the app extra: pip install -e '.[app]'")

from maist.app import mine as saved  # noqa: E402
from maist.app import server as web  # noqa: E402
from maist.training import recipes  # noqa: E402
from maist.training.config import TrainConfig  # noqa: E402
from maist.training.loop import train  # noqa: E402
from maist.training.schedule import StepTable  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """runs/shapes: an expert trained on the tiny shapes set (classes あいうえお); runs/empty:
    a run directory with no checkpoint."""
    root = tmp_path_factory.mktemp("app")
    data = tiny_data(num_classes=5, per_class=80)
    recipe = recipes.Recipe("t", "expert", "adam", "stable", 200, 32, StepTable.constant(1e-3),
                             StepTable.constant(0.5), sampling="epoch")
    train(data, TrainConfig(recipe, eval_every=200), root / "runs" / "shapes",
          quiet=True)
    (root / "runs" / "empty").mkdir()
    (root / "runs" / "empty" / "config.json").write_text(
        (root / "runs" / "shapes" / "config.json").read_text())
    (root / "outside").mkdir()
    return root


@pytest.fixture
def client(world, tmp_path):
    app = web.create_app(world / "runs" / "shapes", runs_root=world / "runs",
                         mine_dir=tmp_path / "mine")
    app.testing = True
    return app.test_client()


def drawing(k: int, size: int = 140) -> str:
    """Class k's shape as a person's drawing: dark ink on white, as the canvas sends it."""
    img = (255 - shape(k) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).resize((size, size), Image.BILINEAR).convert("RGBA").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def png_size(data_url: str) -> tuple[int, int]:
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).size


def test_predict_gives_the_drawn_class_in_the_top_5_and_the_layers(client):
    for k, char in enumerate("あいうえお"):
        r = client.post("/api/predict", json={"image": drawing(k)})
        assert r.status_code == 200, r.json
        top = [t["char"] for t in r.json["top"]]
        assert len(top) == 5 and char in top
        assert sum(t["p"] for t in r.json["top"]) == pytest.approx(1.0, abs=1e-4)
    shown = r.json["input"]  # grey bytes the page draws, the pixels of x
    assert (shown["width"], shown["height"]) == (28, 28) and "layers" not in r.json  # top 5 first
    x = np.frombuffer(base64.b64decode(r.json["x"]), "<f4")
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(shown["pixels"]), np.uint8),
                                  (x * 255).astype(np.uint8))  # x is in [0, 1]
    maps = client.post("/api/layers", json={"x": r.json["x"]})
    assert maps.status_code == 200, maps.json
    together = client.post("/api/predict", json={"image": drawing(4), "layers": True}).json
    assert maps.json["layers"] == together["layers"]  # the same maps, in one request or two
    layers = {layer["name"]: layer for layer in maps.json["layers"]}
    assert [n for n in layers] == ["h_relu1", "h_pool1", "h_pool2"]
    assert layers["h_relu1"]["shape"] == [28, 28, 32]
    assert layers["h_pool1"]["shape"] == [14, 14, 32]
    assert layers["h_pool2"]["shape"] == [7, 7, 64]
    # 8 maps a row, one-pixel gaps: 32 maps of 28x28 are 4 rows of 8
    for name, size in (("h_relu1", (8 * 29 - 1, 4 * 29 - 1)), ("h_pool2", (8 * 8 - 1, 8 * 8 - 1))):
        raw = base64.b64decode(layers[name]["pixels"])  # grey bytes the page draws itself
        assert (layers[name]["width"], layers[name]["height"]) == size
        assert len(raw) == size[0] * size[1] and len(set(raw)) > 2


def test_info_has_the_classes_and_the_filters(client):
    info = client.get("/api/info").json
    assert info["classes"] == list("あいうえお") and info["model"] == "expert"
    assert info["scripts"] == ["hiragana"] and info["scripts_text"] == "hiragana"
    assert info["filters"]["shape"] == [5, 5, 1, 32]
    assert png_size(info["filters"]["png"]) == (8 * 6 - 1, 4 * 6 - 1)
    page = client.get("/")
    assert page.status_code == 200 and b"<canvas" in page.data
    assert client.get("/static/draw.js").status_code == 200
    assert b"http" not in page.data.replace(b"http://www.w3.org", b"")  # no CDN, no network


def test_a_typed_label_is_read_as_its_class(tmp_path):
    """Half-width katakana and marks typed apart are the classes' own characters."""
    raw = b"png"
    kana = ("ガ", "パ", "あ")
    assert saved.save_drawing(raw, "ｶﾞ", kana, tmp_path).parent.name == "ガ"
    assert saved.save_drawing(raw, "ハ\u309c", kana, tmp_path).parent.name == "パ"
    assert saved.save_drawing(raw, " あ\n", kana, tmp_path).parent.name == "あ"
    with pytest.raises(web.BadRequest, match="not one of this run's classes"):
        saved.save_drawing(raw, "か", kana, tmp_path)


def test_a_save_on_a_full_disk_is_a_507_and_leaves_no_empty_picture(tmp_path, monkeypatch):
    """A write that fails half way removes its file: the page counts saved drawings, and
    the adapt command it offers would fail on a 0-byte PNG."""
    import builtins
    import errno

    real_open = builtins.open

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def full_open(path, mode="r", *a, **kw):
        f = real_open(path, mode, *a, **kw)
        return Full(f) if mode == "xb" else f

    monkeypatch.setattr(builtins, "open", full_open)
    with pytest.raises(web.BadRequest) as e:
        saved.save_drawing(b"png", "あ", ("あ",), tmp_path)
    assert e.value.status == 507 and "free some space" in str(e.value)
    assert list((tmp_path / "あ").iterdir()) == []


def test_save_writes_the_png_where_it_should(client, tmp_path):
    for expected in (1, 2):
        r = client.post("/api/save", json={"image": drawing(0), "label": "あ"})
        assert r.status_code == 200, r.json
        path = Path(r.json["path"])
        assert path == tmp_path / "mine" / "あ" / f"{expected:04d}.png" and r.json["count"] == expected
    from maist.data import sources

    assert sources.picture_label(path, tmp_path / "mine", HIRAGANA71) == "あ"
    # The page says how many there are per character, and, from 3 on, how to adapt.
    assert r.json["mine"]["per_class"] == {"あ": 2} and r.json["mine"]["command"] is None
    client.post("/api/save", json={"image": drawing(1), "label": "い"})
    mine = client.get("/api/mine").json
    assert mine["total"] == 3 and mine["per_class"] == {"あ": 2, "い": 1}
    assert mine["command"].startswith(f"python scripts/train_maist.py --data {tmp_path / 'mine'}"
                                      f" --init-from ")


def big_drawing(side: int = 3000) -> str:
    """A PNG of a few KB that decodes to side x side pixels: over the page's budget."""
    buf = io.BytesIO()
    img = Image.new("L", (side, side), 255)
    img.paste(0, (side // 3, side // 3, side // 3 + 8, 2 * side // 3))
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def blank() -> str:
    buf = io.BytesIO()
    Image.new("RGBA", (140, 140), (255, 255, 255, 255)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("method,url,body,status,fragment", [
    ("post", "/api/predict", {"image": "data:image/png;base64," + "A" * (3 * 1024 * 1024)}, 413, "over 2 MB"),
    ("post", "/api/predict", {"image": "data:image/png;base64," + base64.b64encode(b"GIF? no").decode()}, 400, "not a readable image"),
    ("post", "/api/predict", {"image": "not base64 !!"}, 400, "not base64"),
    ("post", "/api/predict", "just text", 400, "send a JSON object"),
    ("post", "/api/predict", {"image": None}, 400, "send the drawing"),
    ("post", "/api/predict", {"image": blank()}, 422, "no ink found"),
    ("post", "/api/save", {"image": blank(), "label": "あ"}, 422, "no ink found"),
    ("post", "/api/save", {"image": drawing(0), "label": "x"}, 400, "not one of this run's classes"),
    ("post", "/api/save", {"image": drawing(0), "label": "か"}, 400, "not one of this run's classes"),
    ("post", "/api/save", {"image": drawing(0)}, 400, "say what the drawing was"),
    ("post", "/api/run", {"run": "../outside"}, 403, "give a run under"),
    ("post", "/api/run", {"run": "/etc"}, 403, "give a run under"),
    ("post", "/api/run", {"run": "empty"}, 404, "no checkpoint"),
    ("post", "/api/run", {"run": "nope"}, 404, "no such run directory"),
    ("post", "/api/run", ["a", "list"], 400, "send a JSON object"),
    ("post", "/api/run", {"run": "a\x00b"}, 400, "NUL"),
    ("post", "/api/run", "[" * 100_000, 400, "send a JSON object"),
    ("post", "/api/predict", {"image": big_drawing()}, 413, "over the limit"),
    ("post", "/api/layers", {"x": "AAAA"}, 400, "784 pixels"),
    ("post", "/api/layers", {"x": base64.b64encode(np.full(784, np.nan, "<f4").tobytes()).decode()}, 400, "784 pixels"),
    ("get", "/api/nothing", None, 404, "no such page"),
    ("get", "/static/../app.py", None, 404, ""),
])
def test_bad_input_gets_a_json_error_and_the_server_stays_up(client, method, url, body, status,
                                                              fragment, tmp_path):
    if isinstance(body, str):
        r = client.post(url, data=body, content_type="text/plain")
    elif method == "post":
        r = client.post(url, json=body)
    else:
        r = client.get(url)
    assert r.status_code == status
    assert fragment in r.get_json()["error"]
    assert not (tmp_path / "mine").exists() or not any((tmp_path / "mine").rglob("*.png"))
    ok = client.post("/api/predict", json={"image": drawing(2)})  # still serving, same model
    assert ok.status_code == 200 and "う" in [t["char"] for t in ok.json["top"]]


@pytest.mark.parametrize("damage,said", [("data", "config.json"),
                                          ("preprocess", "unknown preprocessing")])
def test_a_damaged_run_is_refused_and_the_page_keeps_its_run(client, world, damage, said):
    """Switching to a run whose config.json is damaged, or names a preprocessing this
    MAIST does not know (restoring it works; reading a drawing would not), is a 409: the
    whole reading path is tried on one drawing first, and every client keeps its run."""
    import shutil

    damaged = world / "runs" / f"damaged-{damage}"
    if not damaged.exists():
        shutil.copytree(world / "runs" / "shapes", damaged)
        config = json.loads((damaged / "config.json").read_text())
        if damage == "data":
            config["data"] = "oops"
        else:
            config["data"]["preprocess"] = "centred-by-hand"
        (damaged / "config.json").write_text(json.dumps(config))
    r = client.post("/api/run", json={"run": damaged.name})
    assert r.status_code == 409 and said in r.json["error"], r.json
    assert client.get("/api/info").json["run"].endswith("shapes")
    assert client.post("/api/predict", json={"image": drawing(1)}).status_code == 200


def test_a_run_that_restores_but_cannot_read_a_drawing_is_refused(client, monkeypatch):
    """The switch reads one drawing through the new run, the live layers included: a run
    that fails there is a 409 and the page keeps answering with the run it had."""
    from maist.errors import PictureError

    def unreadable(picture, how="centered", **_):
        raise PictureError(f"unknown preprocessing {how!r}")

    real = web.from_picture
    monkeypatch.setattr(web, "from_picture", unreadable)
    r = client.post("/api/run", json={"run": "shapes"})
    assert r.status_code == 409 and "cannot read a drawing" in r.json["error"], r.json
    monkeypatch.setattr(web, "from_picture", real)
    assert client.post("/api/predict", json={"image": drawing(1)}).status_code == 200


def test_a_save_where_a_file_blocks_the_folder_is_a_409(world, tmp_path):
    app = web.create_app(world / "runs" / "shapes", runs_root=world / "runs",
                         mine_dir=tmp_path / "mine")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "あ").write_text("a note, not a folder")
    r = app.test_client().post("/api/save", json={"image": drawing(0), "label": "あ"})
    assert r.status_code == 409 and "cannot save into" in r.json["error"]
    assert (tmp_path / "mine" / "あ").read_text() == "a note, not a folder"


def test_switching_runs_stays_inside_runs(client, world):
    assert "empty" not in client.get("/api/runs").json["runs"]  # it has no checkpoint
    r = client.post("/api/run", json={"run": "shapes"})
    assert r.status_code == 200 and r.json["run"].endswith("shapes")


def test_a_burst_of_concurrent_requests_all_get_answers(client):
    results, errors = [], []

    def worker(k):
        try:
            for i in range(5):
                r = client.post("/api/predict", json={"image": drawing((k + i) % 5)})
                results.append((r.status_code, r.json["top"][0]["char"] if r.status_code == 200 else r.json))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 20
    assert all(code == 200 for code, _ in results), results


def test_no_run_is_a_clear_error(tmp_path):
    from maist.errors import RunError

    with pytest.raises(RunError, match="no trained run with a checkpoint"):
        web.create_app(None, runs_root=tmp_path)


# --- in a real browser ------------------------------------------------------------------------


def test_the_page_in_headless_chromium(world, tmp_path):
    pytest.importorskip("selenium", reason="the browser test needs selenium (the app extra)")
    from maist.app import browser

    try:
        browser.find_chromium()
    except browser.BrowserError as e:
        pytest.skip(f"no Chromium here: {e}")
    app = web.create_app(world / "runs" / "shapes", runs_root=world / "runs",
                         mine_dir=tmp_path / "mine")
    url, stop = browser.serve_in_thread(app)
    driver = browser.chromium(width=900, height=900)
    try:
        driver.get(url)
        # A vertical bar (class あ of the shapes model), drawn with the pointer.
        browser.draw(driver, [np.array([[140.0, 40.0 + 8 * i] for i in range(26)])])
        top = browser.wait_for_answer(driver)
        assert len(top) == 5 and set(top) <= set("あいうえお")
        from selenium.webdriver.common.by import By

        layers = driver.find_elements(By.CSS_SELECTOR, "#layers canvas")
        assert [c.get_attribute("aria-label") for c in layers] == ["h_relu1", "h_pool1", "h_pool2"]
        assert [int(c.get_attribute("width")) for c in layers] == [8 * 29 - 1, 8 * 15 - 1, 8 * 8 - 1]
        # The maps came with the top 5, in one request: the page asks nothing else.
        drawn = driver.execute_script(
            "const c = document.querySelector('#layers canvas');"
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "return new Set(d).size")
        assert drawn > 2  # the maps' pixels are on the canvas, not a blank one
        assert driver.find_element(By.ID, "filters").get_attribute("src").startswith("data:")
        driver.find_element(By.ID, "save").click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 20).until(
            lambda d: "saved" in d.find_element(By.ID, "saved").text)
        assert len(list((tmp_path / "mine").rglob("*.png"))) == 1
        assert "1 drawing of 1 character" in driver.find_element(By.ID, "mine").text
        assert driver.title == "MAIST: draw hiragana"
        # "This was" is typed: a character not in the run is refused on the page, and one
        # typed with its voicing mark apart, or with spaces, lands in its class's folder.
        label = driver.find_element(By.ID, "label")
        label.clear()
        label.send_keys("x")
        driver.find_element(By.ID, "save").click()
        assert "not one of this run's 5 classes" in driver.find_element(By.ID, "error").text
        label.clear()
        label.send_keys(" え ")
        driver.find_element(By.ID, "save").click()
        WebDriverWait(driver, 20).until(lambda d: (tmp_path / "mine" / "え").is_dir())
        driver.find_element(By.ID, "undo").click()
        WebDriverWait(driver, 20).until(
            lambda d: not d.find_elements(By.CSS_SELECTOR, "#top li"))
        shot = tmp_path / "page.png"
        driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        logs = json.dumps(driver.get_log("browser")) if hasattr(driver, "get_log") else "[]"
        assert "SEVERE" not in logs or "favicon" in logs
    finally:
        driver.quit()
        stop()


# --- fuzz: whatever a client sends, a 4xx (or a 200) and never a failure of the server ----

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = st.dictionaries(st.sampled_from(["image", "label", "run", "x", "layers"]),
                         JSON | st.text(max_size=40), max_size=4)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.sampled_from(["/api/predict", "/api/save", "/api/run", "/api/layers"]),
       body=FIELDS | JSON, raw=st.binary(max_size=64), as_raw=st.booleans())
def test_the_json_api_answers_anything_with_a_4xx(client, url, body, raw, as_raw):
    if as_raw:
        r = client.post(url, data=raw, content_type="application/json")
    else:
        r = client.post(url, json=body)
    assert r.status_code in (200, 400, 403, 404, 409, 413, 422), (r.status_code, r.data[:200])
    assert r.is_json and (r.status_code == 200 or "error" in r.json)


def test_switching_runs_while_others_predict_fails_no_request(world, tmp_path):
    """A switch swaps the run between requests: one under way finishes on the run it began
    with, and every answer is a 200."""
    app = web.create_app(world / "runs" / "shapes", runs_root=world / "runs",
                         mine_dir=tmp_path / "mine")
    client = app.test_client()
    codes, stop = [], threading.Event()

    def predicting():
        while not stop.is_set():
            codes.append(client.post("/api/predict", json={"image": drawing(3)}).status_code)

    threads = [threading.Thread(target=predicting) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(6):
        assert client.post("/api/run", json={"run": "shapes"}).status_code == 200
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert codes and set(codes) == {200}


def test_a_model_of_several_scripts_reads_as_the_one_asked_for(tmp_path):
    """Scripts as the page and predict.py pass them: the other classes out, the rest
    scaled to sum to 1; a script the run does not read is a 400 that names the scripts."""
    from maist.inference.restore import within_scripts

    classes = ["り", "リ", "力"]
    probs = np.array([[0.2, 0.6, 0.2]])
    np.testing.assert_allclose(within_scripts(probs, classes, ["hiragana"]), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(within_scripts(probs, classes, "hiragana,kanji"), [[0.5, 0, 0.5]])
    assert within_scripts(probs, classes, None) is probs
    from maist.errors import ClassSetError

    with pytest.raises(ClassSetError, match="unknown script 'hira'"):
        within_scripts(probs, classes, ["hira"])


def test_the_page_asks_for_one_script(client):
    r = client.post("/api/predict", json={"image": drawing(0), "scripts": ["hiragana"]})
    assert r.status_code == 200 and abs(sum(t["p"] for t in r.json["top"]) - 1) < 1e-5
    r = client.post("/api/predict", json={"image": drawing(0), "scripts": ["katakana"]})
    assert r.status_code == 400 and "none of the 5 classes is written in katakana" in r.json["error"]
    r = client.post("/api/predict", json={"image": drawing(0), "scripts": "hiragana"})
    assert r.status_code == 400 and "list of script names" in r.json["error"]
