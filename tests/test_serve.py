"""sentae serve without a browser: the JSON endpoints of a server started on a free port in a thread, against tiny
models trained through the real Trainer on a small embedded reviews corpus (ctrl_vae with attribute codes, rnn_vae
without, rnn_lm without a latent)."""
from __future__ import annotations

import http.client
import inspect
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sentae
from sentae.cli import main
from sentae.serve import MAX_BODY, MAX_SAMPLES, MAX_TEXT, Explorer, is_loopback, make_server, open_explorer, serve
from sentae.serve.map import Pca
from sentae.serve.page import CSP, SCRIPT

SMALL = {"size": 600, "seed": 3}  # 540 / 30 / 30 sentences
TRAIN = {"batch_size": 16, "eval_every": 0, "ckpt_every": 0, "progress": "none", "threads": 1}
SIZES = {"embedding_size": 11, "hidden_size": 13}
MAP_N = 20


def _train(tmp_path_factory, name: str, model: dict, steps: int) -> Path:
    recipe = {"name": name, "model": model, "data": {"source": "reviews", "options": SMALL},
              "train": {**TRAIN, "max_steps": steps}}
    return sentae.train(recipe, out=tmp_path_factory.mktemp(name) / "run").path


@pytest.fixture(scope="module")
def ctrl_run(tmp_path_factory) -> Path:
    return _train(tmp_path_factory, "tiny_ctrl", {"type": "ctrl_vae", **SIZES, "latent_size": 7,
                                                 "classifier_embedding": 9, "classifier_filters": 10,
                                                 "control_start_step": 10, "generated_length": 8,
                                                 "generated_batch": 5}, 20)


class Live:
    """A server on 127.0.0.1 and a free port, serving in a thread; ``call`` sends one request."""

    def __init__(self, explorer: Explorer) -> None:
        self.server = make_server(explorer, "127.0.0.1", 0, quiet=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def call(self, method: str, path: str, body=None, headers: dict | None = None, raw: bytes | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, path, body=data, headers={**hdrs, **(headers or {})})
        res = conn.getresponse()
        payload = res.read()
        conn.close()
        ctype = res.getheader("Content-Type", "")
        return res.status, (json.loads(payload) if ctype.startswith("application/json") else payload), res

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def ctrl(ctrl_run):
    live = Live(Explorer(sentae.load(ctrl_run), map_sentences=MAP_N))
    yield live
    live.close()


def test_the_default_host_is_loopback_everywhere(ctrl_run):
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(open_explorer).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(make_server).parameters["host"].default == "127.0.0.1"
    host = next(p for p in main.commands["serve"].params if p.name == "host")
    assert host.default == "127.0.0.1"
    server = open_explorer(ctrl_run, port=0, map_sentences=0, quiet=True)
    try:
        assert server.server_address[0] == "127.0.0.1" and server.loopback
    finally:
        server.server_close()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_the_page_is_served_with_a_strict_policy_and_no_cors(ctrl):
    status, page, res = ctrl.call("GET", "/")
    assert status == 200 and res.getheader("Content-Type").startswith("text/html")
    assert b'id="rewrite-btn"' in page and b"<script>" in page
    assert res.getheader("Content-Security-Policy") == CSP and "connect-src 'self'" in CSP
    assert "unsafe-inline" not in CSP and "'sha256-" in CSP
    for path in ("/", "/api/info", "/api/map"):
        assert ctrl.call("GET", path)[2].getheader("Access-Control-Allow-Origin") is None
    status, body, res = ctrl.call("OPTIONS", "/api/rewrite")  # no CORS preflight is ever granted
    assert status == 405 and res.getheader("Access-Control-Allow-Origin") is None
    # model and data text reach the page as text only
    assert "innerHTML" not in SCRIPT and "outerHTML" not in SCRIPT and "insertAdjacentHTML" not in SCRIPT


def test_info_names_the_models_attributes_and_limits(ctrl, ctrl_run):
    status, info, _ = ctrl.call("GET", "/api/info")
    assert status == 200
    assert info["model"] == "ctrl_vae" and info["has_latent"] and info["can_rewrite"]
    assert info["controlled"] == {"sentiment": ["negative", "positive"], "tense": ["past", "present", "future"]}
    assert info["limits"]["text_characters"] == MAX_TEXT and info["limits"]["samples"] == MAX_SAMPLES
    assert info["map"] == {"available": True, "reason": ""}


def test_sample_with_attributes_is_the_samplers_sample(ctrl, ctrl_run):
    body = {"n": 4, "attributes": {"tense": "future", "sentiment": ""}, "seed": 11, "top_p": 0.8}
    status, out, _ = ctrl.call("POST", "/api/sample", body)
    assert status == 200, out
    expected = sentae.load(ctrl_run).sample(4, seed=11, attributes={"tense": "future"}, top_p=0.8)
    assert out["sentences"] == expected and out["attributes"] == {"tense": "future"}
    assert ctrl.call("POST", "/api/sample", body)[1] == out  # a seed repeats
    for bad, words in [({"n": MAX_SAMPLES + 1}, f"between 1 and {MAX_SAMPLES}"), ({"n": True}, "integer"),
                       ({"n": 0}, "between"), ({"top_p": 1.5}, "top_p"), ({"seed": -1}, "seed"),
                       ({"attributes": ["tense"]}, "attributes must be an object")]:
        status, err, _ = ctrl.call("POST", "/api/sample", bad)
        assert status == 400 and words in err["error"], (bad, err)


def test_rewrite_is_the_samplers_transfer_with_the_reconstruction_beside_it(ctrl, ctrl_run):
    text = "the waiter was rude and the soup was cold ."
    body = {"text": text, "attributes": {"sentiment": "positive", "tense": "future"}, "scale": 1.5}
    status, out, _ = ctrl.call("POST", "/api/rewrite", body)
    assert status == 200, out
    sampler = sentae.load(ctrl_run)
    assert out["mode"] == "rewrite"
    assert out["result"] == sampler.transfer([text], body["attributes"], scale=1.5)[0]
    assert out["reconstruction"] == sampler.reconstruct([text])[0]
    assert out["read"]["sentiment"] in ("negative", "positive") and out["read"]["tense"] in ("past", "present", "future")
    # nothing chosen: the sentence decoded from its own code, said so
    status, out, _ = ctrl.call("POST", "/api/rewrite", {"text": text, "attributes": {"tense": ""}})
    assert status == 200 and out["mode"] == "reconstruct" and out["result"] == sampler.reconstruct([text])[0]
    assert "no attribute value chosen" in out["note"]


def test_unknown_attributes_and_values_are_400_with_the_valid_ones(ctrl):
    status, err, _ = ctrl.call("POST", "/api/rewrite", {"text": "it was fine .", "attributes": {"mood": "happy"}})
    assert status == 400
    assert "unknown attribute 'mood'" in err["error"] and "sentiment (negative, positive)" in err["error"]
    status, err, _ = ctrl.call("POST", "/api/sample", {"attributes": {"tense": "pluperfect"}})
    assert status == 400 and "unknown value 'pluperfect'" in err["error"] and "past, present, future" in err["error"]


def test_oversize_bodies_and_texts_are_refused(ctrl):
    status, err, _ = ctrl.call("POST", "/api/rewrite", {"text": "a" * (MAX_TEXT + 1)})
    assert status == 413 and f"limit is {MAX_TEXT:,}" in err["error"]
    status, err, _ = ctrl.call("POST", "/api/interpolate", {"a": "fine .", "b": "b " * MAX_TEXT})
    assert status == 413 and "b has" in err["error"]
    # A body over the limit is refused from its Content-Length, before a byte of it is read.
    with socket.create_connection(("127.0.0.1", ctrl.port), timeout=10) as sock:
        sock.sendall(f"POST /api/rewrite HTTP/1.1\r\nHost: 127.0.0.1:{ctrl.port}\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
        # the server closes the connection after its answer; headers and body may come in separate packets
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
        reply = b"".join(chunks).decode()
    assert reply.startswith("HTTP/1.1 413") and f"the limit is {MAX_BODY:,}" in reply
    status, err, _ = ctrl.call("POST", "/api/rewrite", raw=b'{"text": "' + b"x" * MAX_BODY + b'"}')
    assert status == 413


@pytest.mark.parametrize("method, path, kwargs, code, words", [
    ("POST", "/api/rewrite", {"raw": b"{not json"}, 400, "not JSON"),
    ("POST", "/api/rewrite", {"raw": b'"just a string"'}, 400, "JSON object"),
    ("POST", "/api/rewrite", {"body": {"text": "ok .", "run": "/etc"}}, 400, "unknown field(s) run"),
    ("POST", "/api/rewrite", {"body": {}}, 400, "missing field(s): text"),
    ("POST", "/api/rewrite", {"body": {"text": "   "}}, 400, "empty"),
    ("POST", "/api/rewrite", {"body": {"text": "ok .", "scale": 50}}, 400, "scale must be between"),
    ("POST", "/api/rewrite", {"raw": b'{"text": "ok ."}', "headers": {"Content-Type": "text/plain"}}, 415,
     "application/json"),
    ("POST", "/api/rewrite", {"body": {"text": "ok ."}, "headers": {"Origin": "http://evil.example"}}, 403,
     "same origin only"),
    ("GET", "/api/info", {"headers": {"Host": "evil.example:7860"}}, 403, "127.0.0.1 or localhost only"),
    ("GET", "/api/rewrite", {}, 405, "takes POST"),
    ("GET", "/etc/passwd", {}, 404, "no page or endpoint"),
    ("POST", "/api/load", {"body": {"run": "runs/other"}}, 404, "no endpoint"),
    ("POST", "/api/interpolate", {"body": {"a": "x .", "b": "y .", "steps": 13}}, 400, "between 2 and 12"),
    ("POST", "/api/interpolate", {"body": {"a": "x .", "b": "y .", "method": "cubic"}}, 400, "linear or slerp"),
])
def test_bad_requests_get_one_clear_json_error(ctrl, method, path, kwargs, code, words):
    status, err, _ = ctrl.call(method, path, **kwargs)
    assert status == code and words in err["error"], err


def test_a_request_without_content_length_is_411(ctrl):
    with socket.create_connection(("127.0.0.1", ctrl.port), timeout=10) as sock:
        sock.sendall(f"POST /api/sample HTTP/1.1\r\nHost: localhost:{ctrl.port}\r\nContent-Type: application/json"
                     f"\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        assert sock.recv(4096).decode().startswith("HTTP/1.1 411")


def test_interpolate_is_the_samplers_path(ctrl, ctrl_run):
    body = {"a": "the pasta was great .", "b": "we will never come back .", "steps": 4, "method": "slerp"}
    status, out, _ = ctrl.call("POST", "/api/interpolate", body)
    assert status == 200
    assert out["sentences"] == sentae.load(ctrl_run).interpolate(body["a"], body["b"], 4, "slerp")


def test_the_map_holds_labelled_held_out_sentences_and_places_a_typed_one(ctrl, ctrl_run):
    from sentae.generation.held_out import held_out_texts

    status, m, _ = ctrl.call("GET", "/api/map")
    assert status == 200 and m["available"] and m["split"] == "test" and len(m["points"]) == MAP_N
    split, pairs = held_out_texts(ctrl_run, MAP_N, 0)
    assert [p["text"] for p in m["points"]] == [t for t, _ in pairs]
    assert [p["labels"] for p in m["points"]] == [labels for _, labels in pairs]
    assert m["attributes"] == {"sentiment": ["negative", "positive"], "tense": ["past", "present", "future"]}
    assert 0 < m["explained_variance"][1] <= m["explained_variance"][0] <= 1
    # a sentence on the map is placed where its point is: the same code, the same projection
    first = m["points"][0]
    status, placed, _ = ctrl.call("POST", "/api/map", {"text": first["text"]})
    assert status == 200 and placed["x"] == pytest.approx(first["x"], abs=1e-5)
    assert placed["y"] == pytest.approx(first["y"], abs=1e-5)
    xs = [p["x"] for p in m["points"]]
    assert abs(np.mean(xs)) < 1e-6  # centred by the PCA


def test_pca_finds_the_axes_of_known_codes():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(400, 5)) * np.array([5.0, 0.1, 2.0, 0.1, 0.1]) + 3.0
    pca = Pca.fit(codes)
    assert np.abs(pca.axes[0]) == pytest.approx([1, 0, 0, 0, 0], abs=0.02)
    assert np.abs(pca.axes[1]) == pytest.approx([0, 0, 1, 0, 0], abs=0.02)
    assert pca.explained[0] > 0.8 and pca.explained[0] + pca.explained[1] > 0.99
    assert pca.project(pca.mean[None]) == pytest.approx(np.zeros((1, 2)))
    one = Pca.fit(rng.normal(size=(10, 1)))  # a one-dimensional latent: the second axis is zero
    assert one.project(np.ones((3, 1)))[:, 1] == pytest.approx(np.zeros(3))
    with pytest.raises(sentae.SentaeError, match="at least 2 codes"):
        Pca.fit(np.zeros((1, 3)))


def test_without_rebuildable_data_the_map_says_why_and_the_rest_works(ctrl_run, monkeypatch):
    from sentae.generation import held_out

    def missing(run_dir, n, seed=0):
        raise sentae.SentaeError(f"{run_dir}: the corpus file is gone")

    monkeypatch.setattr(held_out, "held_out_texts", missing)
    live = Live(Explorer(sentae.load(ctrl_run), map_sentences=MAP_N))
    try:
        status, m, _ = live.call("GET", "/api/map")
        assert status == 200 and not m["available"] and "the corpus file is gone" in m["reason"]
        status, err, _ = live.call("POST", "/api/map", {"text": "fine ."})
        assert status == 409 and "no latent map" in err["error"]
        status, out, _ = live.call("POST", "/api/rewrite", {"text": "fine .", "attributes": {"tense": "past"}})
        assert status == 200 and out["mode"] == "rewrite"
    finally:
        live.close()


def test_a_model_without_attribute_codes_reconstructs_and_says_so(tmp_path_factory):
    run = _train(tmp_path_factory, "tiny_vae", {"type": "rnn_vae", **SIZES, "latent_size": 7}, 3)
    live = Live(Explorer(sentae.load(run), map_sentences=MAP_N))
    try:
        info = live.call("GET", "/api/info")[1]
        assert info["controlled"] == {} and not info["can_rewrite"] and "reconstructs" in info["rewrite_note"]
        status, out, _ = live.call("POST", "/api/rewrite", {"text": "it was fine .", "attributes": {}})
        assert status == 200 and out["mode"] == "reconstruct" and out["note"] == info["rewrite_note"]
        assert out["result"] == sentae.load(run).reconstruct(["it was fine ."])[0]
        status, err, _ = live.call("POST", "/api/rewrite", {"text": "fine .", "attributes": {"tense": "past"}})
        assert status == 200  # the note explains; the attribute cannot be set, so it is not
        assert live.call("GET", "/api/map")[1]["available"]
    finally:
        live.close()


def test_a_language_model_only_samples(tmp_path_factory):
    run = _train(tmp_path_factory, "tiny_lm", {"type": "rnn_lm", **SIZES}, 3)
    live = Live(Explorer(sentae.load(run), map_sentences=MAP_N))
    try:
        info = live.call("GET", "/api/info")[1]
        assert not info["has_latent"] and "can only sample" in info["rewrite_note"]
        status, out, _ = live.call("POST", "/api/sample", {"n": 2, "seed": 1})
        assert status == 200 and len(out["sentences"]) == 2
        for path, body in [("/api/rewrite", {"text": "fine ."}), ("/api/interpolate", {"a": "a .", "b": "b ."}),
                           ("/api/map", {"text": "fine ."})]:
            status, err, _ = live.call("POST", path, body)
            assert status == 409 and "no latent" in err["error"], (path, err)
        assert "no latent code" in live.call("GET", "/api/map")[1]["reason"]
    finally:
        live.close()


def test_cli_warns_off_loopback_and_names_a_busy_port(ctrl_run, monkeypatch):
    import sentae.serve as serve_pkg

    class Stub:
        url = "http://0.0.0.0:1/"

        def __init__(self, explorer):
            self.explorer = explorer

        def serve_forever(self):
            raise KeyboardInterrupt

        def server_close(self):
            pass

    real = serve_pkg.open_explorer
    monkeypatch.setattr(serve_pkg, "open_explorer",
                        lambda run, host, port, **kw: Stub(real(run, "127.0.0.1", 0, **kw).explorer))
    res = CliRunner().invoke(main, ["serve", str(ctrl_run), "--host", "0.0.0.0", "--map-sentences", "0", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "warning: listening on 0.0.0.0" in res.output and "no authentication" in res.output
    assert "the map is turned off" in res.output and "stopped" in res.output
    monkeypatch.setattr(serve_pkg, "open_explorer", real)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = CliRunner().invoke(main, ["serve", str(ctrl_run), "--port", str(port), "--map-sentences", "0"])
    assert res.exit_code == 1 and f"error: cannot listen on 127.0.0.1:{port}" in res.output
    assert "warning" not in res.output
