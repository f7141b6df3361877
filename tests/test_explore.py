"""`genlab explore`: the server's answers to good and bad requests, the command's errors and Ctrl-C,
and the page itself in headless Chromium (Selenium) for a 2-D VAE and a GAN on mnist-sample.

Screenshots of the pages go to tmp_path and, when GENLAB_TEST_ARTIFACTS names a folder, there too."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from genlab.api import explore
from genlab.models.registry import get_model
from genlab.settings import ExploreSettings
from genlab.train import engine
from helpers import CHROMIUM_FLAGS, assert_user_error

SRC = str(Path(__file__).resolve().parents[1] / "src")


def train(name: str, folder: Path, **values) -> Path:
    spec = get_model(name)
    config = spec.make_config(data="mnist-sample", device="cpu", limit=200, **values)
    return engine.train(spec, config, out=folder / name, progress=False).run.path


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory) -> Path:
    """A 2-D VAE trained for one epoch on 200 mnist-sample images."""
    return train("vae", tmp_path_factory.mktemp("explore"), epochs=1, latent_dim=2, iwae_k=10, iwae_images=50)


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory) -> Path:
    """A small MLP GAN trained for one epoch on 200 mnist-sample images (no judge: the map uses the
    discriminator's features)."""
    return train(
        "gan", tmp_path_factory.mktemp("explore"), epochs=1, g_hidden=(64, 128), d_hidden=(64, 64), judge="none"
    )


@pytest.fixture(scope="module")
def vae_explorer(vae_run):
    explorer = explore(vae_run, port=0, points=300, device="cpu")
    yield explorer
    explorer.stop()


def request(explorer, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """(status, body bytes) of one request to the explorer."""
    connection = http.client.HTTPConnection("127.0.0.1", explorer.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def post(explorer, path: str, value) -> tuple[int, bytes]:
    return request(explorer, "POST", path, json.dumps(value).encode(), {"Content-Type": "application/json"})


# -- the server ---------------------------------------------------------------------------------------
def test_state_decode_and_interpolation_answer(vae_explorer):
    status, body = request(vae_explorer, "GET", "/api/state")
    state = json.loads(body)
    assert status == 200 and state["kind"] == "encoder" and state["dim"] == 2
    assert len(state["map"]["points"]) == len(state["map"]["labels"]) == 300
    assert state["map"]["method"] == "the 2-D code itself" and state["spherical"]
    assert state["map"]["axes"] == ["z1", "z2"]
    status, image = post(vae_explorer, "/api/decode", {"z": [0.5, -0.5]})
    assert status == 200 and image.startswith(b"\x89PNG")
    assert post(vae_explorer, "/api/decode", {"z": [0.5, -0.5]})[1] == image  # decoding is deterministic
    assert post(vae_explorer, "/api/decode", {"z": [-2.0, 2.0]})[1] != image
    status, body = post(vae_explorer, "/api/interpolate", {"a": [0, 0], "b": [1, 1], "steps": 1000})
    result = json.loads(body)
    assert status == 200 and len(result["images"]) == len(result["path"]) == 24  # steps clamped to MAX_STEPS
    for i in (0, 299):
        assert request(vae_explorer, "GET", f"/api/example?i={i}&kind=reconstruction")[1].startswith(b"\x89PNG")
    for name in ("/", "/explorer.js", "/explorer.css"):
        assert request(vae_explorer, "GET", name)[0] == 200


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("GET", "/../../../etc/passwd", None, 404),
        ("GET", "/%2e%2e/%2e%2e/etc/passwd", None, 404),
        ("GET", "//etc/passwd", None, 404),
        ("GET", "/src/genlab/explore/server.py", None, 404),
        ("GET", "/explorer.js/../space.py", None, 404),
        ("GET", "/api/example?i=300", None, 400),
        ("GET", "/api/example?i=-1", None, 400),
        ("GET", "/api/example?i=x", None, 400),
        ("GET", "/api/example?i=1&kind=weights", None, 400),
        ("GET", "/api/example?" + "i=1&" * 20, None, 400),
        ("GET", "/api/state?" + "x" * 5000, None, 414),
        ("GET", "/api/start?seed=1", None, 404),
        ("POST", "/api/decode", b"not json", 400),
        ("POST", "/api/decode", b"[1, 2]", 400),
        ("POST", "/api/decode", b'{"z": [1, 2, 3]}', 400),
        ("POST", "/api/decode", b'{"z": [1, "2"]}', 400),
        ("POST", "/api/decode", b'{"z": [NaN, 1]}', 400),
        ("POST", "/api/decode", b'{"z": [1e300, 1]}', 400),
        ("POST", "/api/decode", b'{"z": [1, 2], "pad": "' + b"x" * 70_000 + b'"}', 413),
        ("POST", "/api/interpolate", b'{"a": [0, 0], "b": [1], "steps": 5}', 400),
        ("POST", "/api/interpolate", b'{"a": [0, 0], "b": [1, 1], "steps": "5"}', 400),
        ("POST", "/api/state", b"{}", 404),
        ("DELETE", "/api/state", None, 501),
    ],
)
def test_bad_requests_get_a_4xx_and_a_short_message(vae_explorer, method, path, body, status):
    got, answer = request(vae_explorer, method, path, body, {"Content-Type": "application/json"})
    assert got == status, answer
    assert len(answer) < 600 and b"Traceback" not in answer


def test_a_request_for_another_host_name_is_refused(vae_explorer):
    status, answer = request(vae_explorer, "GET", "/api/state", headers={"Host": "evil.example:80"})
    assert status == 403 and b"localhost" in answer
    assert request(vae_explorer, "GET", "/", headers={"Host": f"localhost:{vae_explorer.port}"})[0] == 200


def test_it_listens_on_127_0_0_1_unless_told_and_then_warns(vae_run, vae_explorer, capsys):
    assert ExploreSettings(run=vae_run).host == "127.0.0.1"
    assert vae_explorer.httpd.server_address[0] == "127.0.0.1" and vae_explorer.url.startswith("http://127.0.0.1:")
    assert "warning" not in capsys.readouterr().err
    wide = explore(vae_run, host="0.0.0.0", port=0, points=20, device="cpu")
    try:
        assert "genlab: warning: the explorer listens on 0.0.0.0" in capsys.readouterr().err
        assert request(wide, "GET", "/api/state")[0] == 200
    finally:
        wide.stop()
    assert not wide.running and "stopped" in wide._repr_html_()


def test_the_notebook_gets_a_link_and_stop_frees_the_port(vae_run):
    import genlab

    explorer = genlab.explore(genlab.load(vae_run), port=0, points=20, device="cpu")  # a Run, as a notebook has
    assert explorer.space.run_path == vae_run
    assert f'href="{explorer.url}"' in explorer._repr_html_()
    explorer.stop()
    explorer.stop()
    with socket.socket() as probe:  # the port is free again
        probe.bind(("127.0.0.1", explorer.port))


def test_a_port_in_use_and_a_model_without_a_decoder_are_one_line_errors(vae_run, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_user_error(["explore", str(vae_run), "--port", str(port)], capsys, f"port {port}", "--port 0")
    classifier = train("logreg", tmp_path, epochs=1)
    assert_user_error(["explore", str(classifier)], capsys, "'logreg' runs have no decode step", "genlab explore")
    assert_user_error(["explore", str(vae_run), "--points", "5"], capsys, "--points")


def test_ctrl_c_stops_the_command_with_one_line(vae_run):
    environment = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "genlab.cli", "explore", str(vae_run), "--port", "0", "--points", "50"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        line = process.stdout.readline()
        url = line.split(": ", 1)[1].split()[0]
        assert json.load(urllib.request.urlopen(url + "api/state", timeout=30))["kind"] == "encoder"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert err.strip() == "explorer stopped"


def test_a_wide_code_is_mapped_by_pca_and_slid_along_its_top_principal_directions(tmp_path):
    import numpy as np

    from genlab.explore.space import MAX_SLIDERS, LatentSpace

    space = LatentSpace(train("ae", tmp_path, epochs=1, latent_dim=70, hidden=(64,)), points=100, device="cpu")
    state = space.state()
    mean, components = np.array(state["map"]["mean"]), np.array(state["map"]["components"])
    points = np.array(state["map"]["points"])
    assert "PCA projection of the 70-D codes" in state["map"]["method"] and "mean" in state["map"]["note"]
    assert state["map"]["axes"] == ["PC1 of the codes", "PC2 of the codes"]
    assert np.allclose(points, (space.codes - mean) @ components.T, atol=1e-3)
    # a click's code, mean + x PC1 + y PC2, lands where it was clicked
    clicked = mean + points[:5] @ components
    assert np.allclose((clicked - mean) @ components.T, points[:5], atol=1e-6)
    basis = np.array(state["sliders"]["basis"])
    assert basis.shape == (MAX_SLIDERS, 70) and state["sliders"]["names"][:2] == ["PC1", "PC2"]
    assert np.allclose(basis @ basis.T, np.eye(MAX_SLIDERS), atol=1e-6)
    assert not state["spherical"]  # an autoencoder's codes have no Gaussian prior: straight lines


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory) -> Path:
    """A small conditional GAN trained for one epoch on 200 mnist-sample images (no judge)."""
    folder = tmp_path_factory.mktemp("explore")
    return train("cgan", folder, epochs=1, g_hidden=(64, 128), d_hidden=(64, 64), judge="none")


def test_a_conditional_gan_decodes_the_class_asked_for_from_a_seeded_start(cgan_run):
    from genlab.explore.server import Explorer
    from genlab.explore.space import LatentSpace

    explorer = Explorer(LatentSpace(cgan_run, points=50, device="cpu"), port=0)
    try:
        state = json.loads(request(explorer, "GET", "/api/state")[1])
        assert state["classes"] == [str(k) for k in range(10)] and "drawn for" in state["map"]["method"]
        z = json.loads(request(explorer, "GET", "/api/start?seed=3")[1])["z"]
        assert json.loads(request(explorer, "GET", "/api/start?seed=3")[1])["z"] == z
        assert json.loads(request(explorer, "GET", "/api/start?seed=4")[1])["z"] != z
        one, seven = (post(explorer, "/api/decode", {"z": z, "label": k}) for k in (1, 7))
        assert one[0] == seven[0] == 200 and one[1] != seven[1]
        assert post(explorer, "/api/decode", {"z": z})[0] == 400  # a cgan needs the class
        assert post(explorer, "/api/decode", {"z": z, "label": 10})[0] == 400
        code = json.loads(request(explorer, "GET", "/api/code?i=13")[1])
        assert code["label"] == 3 and len(code["z"]) == 100  # balanced classes: sample 13 is a 3
    finally:
        explorer.stop()


# -- the page in a real browser -------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
browser = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium or chromedriver is not installed (apt-get install chromium chromium-driver; .ci/run does)",
)


@pytest.fixture
def page(tmp_path):
    """open(url, width) -> a headless Chromium driver showing the page, ready; screenshot(name)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    drivers = []

    def open_page(url: str, width: int = 1280):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}",
            f"--window-size={width},1000",
        ):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        drivers.append(driver)
        driver.get(url)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))
        return driver

    def screenshot(driver, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        driver.save_screenshot(str(path))
        if os.environ.get("GENLAB_TEST_ARTIFACTS"):
            folder = Path(os.environ["GENLAB_TEST_ARTIFACTS"])
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder / path.name)
        return path

    yield open_page, screenshot
    for driver in drivers:
        driver.quit()


def wait_for(driver, script: str, timeout: float = 20):
    """The truthy value of a JavaScript expression, once it has one."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {script}"))


def src(driver, element_id: str) -> str:
    return driver.execute_script(f"return document.getElementById('{element_id}').getAttribute('src') || ''")


def point_at(driver, x: float, y: float):
    """Move the mouse to (x, y) CSS pixels inside the map, from its top-left corner."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element("id", "map")
    half = driver.execute_script("return document.getElementById('map').clientWidth / 2")
    return ActionChains(driver).move_to_element_with_offset(canvas, int(x - half), int(y - half))


def move_slider(driver, index: int, value: float) -> None:
    driver.execute_script(
        "const s = document.getElementById(arguments[0]); s.value = arguments[1];s.dispatchEvent(new Event('input'));",
        f"slider-{index}",
        value,
    )


def changed(driver, element_id: str, before: str) -> str:
    return wait_for(
        driver,
        f"(document.getElementById('{element_id}').getAttribute('src') || '') !== {json.dumps(before)}"
        f" && document.getElementById('{element_id}').getAttribute('src')",
    )


@browser
def test_the_vae_page_maps_hovers_decodes_slides_and_interpolates(vae_explorer, page):
    open_page, screenshot = page
    driver = open_page(vae_explorer.url)
    assert driver.execute_script("return document.getElementById('map').dataset.points") == "300"
    assert len(driver.find_elements("css selector", "#legend li")) == 10
    assert "2-D code itself" in driver.find_element("id", "map-method").text
    first = wait_for(driver, "document.getElementById('decoded').getAttribute('src')")
    assert first.startswith("data:image/png;base64,")

    x, y = driver.execute_script("return window.explorer.pixelOf(7)")
    point_at(driver, x, y).perform()
    assert wait_for(driver, "document.getElementById('hover-image').getAttribute('src')").startswith("data:image/png")
    assert wait_for(driver, "document.getElementById('hover-reconstruction').getAttribute('src')")
    assert driver.find_element("id", "hover-caption").text.startswith("point ")

    driver.find_element("id", "set-a").click()
    # a place on the map away from every point decodes that location
    area = driver.execute_script("return window.explorer.area()")
    point_at(driver, area["x"] + area["w"] - 3, area["y"] + 3).click().perform()
    located = changed(driver, "decoded", first)
    assert "map location" in driver.find_element("id", "decoded-caption").text

    move_slider(driver, 0, -3.0)
    slid = changed(driver, "decoded", located)
    assert slid.startswith("data:image/png;base64,")

    driver.find_element("id", "set-b").click()
    driver.execute_script("document.getElementById('steps').value = 6")
    driver.find_element("id", "interpolate").click()
    assert wait_for(driver, "document.querySelectorAll('#strip img').length") == 6
    assert "great circle" in driver.find_element("id", "strip-note").text
    assert not driver.find_element("id", "status").get_attribute("class")
    assert screenshot(driver, "explore-vae-1280").stat().st_size > 10_000


@browser
def test_the_page_fits_700_pixels(vae_explorer, page):
    open_page, screenshot = page
    driver = open_page(vae_explorer.url, width=700)
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert driver.execute_script("return document.getElementById('map').clientWidth") > 300
    screenshot(driver, "explore-vae-700")


@browser
def test_the_gan_page_starts_from_noise_and_maps_samples(gan_run, page):
    open_page, screenshot = page
    explorer = explore(gan_run, port=0, points=400, device="cpu")
    try:
        driver = open_page(explorer.url)
        assert driver.execute_script("return document.getElementById('map').dataset.points") == "400"
        assert "discriminator's own features" in driver.find_element("id", "map-method").text
        assert len(driver.find_elements("css selector", "#legend li")) == 1
        start = wait_for(driver, "document.getElementById('decoded').getAttribute('src')")
        assert "seed 0" in driver.find_element("id", "start-seed").text

        driver.find_element("id", "set-a").click()
        driver.find_element("id", "new-start").click()
        fresh = changed(driver, "decoded", start)
        assert "seed 1" in driver.find_element("id", "start-seed").text
        move_slider(driver, 3, 2.5)
        changed(driver, "decoded", fresh)

        x, y = driver.execute_script("return window.explorer.pixelOf(11)")
        point_at(driver, x, y).perform()
        assert wait_for(driver, "document.getElementById('hover-image').getAttribute('src')").startswith("data:image")
        before = src(driver, "decoded")
        point_at(driver, x, y).click().perform()
        changed(driver, "decoded", before)
        assert driver.find_element("id", "decoded-caption").text.startswith("point ")

        driver.find_element("id", "set-b").click()
        driver.find_element("id", "interpolate").click()
        assert wait_for(driver, "document.querySelectorAll('#strip img').length") == 8
        screenshot(driver, "explore-gan-1280")
    finally:
        explorer.stop()


@browser
def test_the_cgan_page_has_a_class_selector(cgan_run, page):
    from selenium.webdriver.support.ui import Select

    open_page, screenshot = page
    explorer = explore(cgan_run, port=0, points=200, device="cpu")
    try:
        driver = open_page(explorer.url)
        assert len(driver.find_elements("css selector", "#legend li")) == 10
        assert "the class each sample was drawn for" in driver.find_element("id", "map-method").text
        start = wait_for(driver, "document.getElementById('decoded').getAttribute('src')")
        Select(driver.find_element("id", "class-select")).select_by_visible_text("7")
        changed(driver, "decoded", start)
        screenshot(driver, "explore-cgan-1280")
    finally:
        explorer.stop()
