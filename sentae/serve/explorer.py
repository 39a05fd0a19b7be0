"""What the explorer page's JSON endpoints do, apart from HTTP: each request body (a decoded JSON object) is checked
against hard limits and turned into one call of the run's ``TextSampler``. The sampler is the one loaded at start;
no request names a file or a run."""
from __future__ import annotations

import math
import threading
from typing import Any, Callable

from ..errors import SentaeError
from .map import MAP_SENTENCES, LatentMap, build_map

MAX_TEXT = 2_000  # characters in one typed sentence
MAX_SAMPLES = 20  # sentences one sample request may ask for
MAX_STEPS = 12  # sentences on one interpolation path, both ends included
MAX_SCALE = 5.0  # |scale| of a rewrite: far past the asked value's code is noise, not a stronger rewrite
MAX_SEED = 2**31 - 1


class ApiError(Exception):
    """A request the page (or anyone) sent that is refused: an HTTP status and one sentence that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fields(body: Any, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(unknown)}; this endpoint takes: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(body))
    if missing:
        raise ApiError(400, f"missing field(s): {', '.join(missing)}")
    return body


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string")
    if len(value) > MAX_TEXT:
        raise ApiError(413, f"{name} has {len(value):,} characters; the limit is {MAX_TEXT:,}")
    text = value.strip()
    if not text:
        raise ApiError(400, f"{name} is empty: type a sentence")
    return text


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high:,}, got {value:,}")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"{name} must be a finite number, got {value!r}")
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _attributes(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ApiError(400, 'attributes must be an object of names to values, e.g. {"sentiment": "positive"}')
    if len(value) > 16:  # more than any model controls; a guard against a huge object, not a model limit
        raise ApiError(400, f"attributes has {len(value)} entries; a model controls a handful")
    return {k: v for k, v in value.items() if v != ""}  # "" is the page's "any value"


class Explorer:
    """The run's sampler behind the page, with the latent map made at start.

    >>> explorer = Explorer(sentae.load("runs/quickstart"))                        # doctest: +SKIP
    >>> explorer.rewrite({"text": "the soup was cold .", "attributes": {"sentiment": "positive"}})  # doctest: +SKIP
    """

    def __init__(self, sampler, map_sentences: int = MAP_SENTENCES, run_label: str = "") -> None:
        self.sampler = sampler
        self.run_label = run_label or str(sampler.run_dir or "")
        # One request at a time reaches the model: decoding is CPU-bound (parallel requests would only share
        # the same cores) and the sampler caches directions, which must not be filled twice at once.
        self._lock = threading.Lock()
        self.map: LatentMap = (build_map(sampler, map_sentences) if map_sentences > 0
                               else LatentMap(False, "the map is turned off (--map-sentences 0)"))

    # -- what the page asks first ----------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        s = self.sampler
        controlled = s.controlled
        if not s.has_latent:
            rewrite_note = (f"model '{s.model.name}' has no latent code: it can only sample (no rewriting, "
                            f"interpolation or map)")
        elif not controlled:
            rewrite_note = (f"model '{s.model.name}' has no attribute codes: the rewrite panel reconstructs the "
                            f"sentence from its code instead (ctrl_vae sets sentiment and tense)")
        else:
            rewrite_note = ""
        return {"run": self.run_label, "model": s.model.name, "has_latent": s.has_latent, "controlled": controlled,
                "can_rewrite": bool(controlled) and s.has_latent, "rewrite_note": rewrite_note,
                "map": {"available": self.map.available, "reason": self.map.reason},
                "limits": {"text_characters": MAX_TEXT, "samples": MAX_SAMPLES, "interpolation_steps": MAX_STEPS,
                           "scale": MAX_SCALE}}

    def map_points(self) -> dict[str, Any]:
        return self.map.to_json()

    # -- the panels ------------------------------------------------------------------------------------------
    def sample(self, body: Any) -> dict[str, Any]:
        b = _fields(body, {"n", "attributes", "seed", "top_p"})
        n = _int(b.get("n", 5), "n", 1, MAX_SAMPLES)
        seed = None if b.get("seed") is None else _int(b["seed"], "seed", 0, MAX_SEED)
        top_p = _number(b.get("top_p", 0.9), "top_p", 0.01, 1.0)
        attributes = _attributes(b.get("attributes"))
        sentences = self._call(lambda: self.sampler.sample(n, seed=seed, attributes=attributes, top_p=top_p))
        return {"sentences": sentences, "attributes": attributes, "decoding": f"sampling, top-p {top_p:g}"}

    def rewrite(self, body: Any) -> dict[str, Any]:
        """The typed sentence with the asked attribute values (and its plain reconstruction beside it); a model
        without attribute codes gives the reconstruction only, and says so."""
        b = _fields(body, {"text", "attributes", "scale"}, {"text"})
        text = _text(b["text"], "text")
        self._need_latent("rewrite a sentence")
        attributes = _attributes(b.get("attributes"))
        scale = _number(b.get("scale", 1.0), "scale", -MAX_SCALE, MAX_SCALE)
        s = self.sampler
        reconstruction = self._call(lambda: s.reconstruct([text])[0])
        if not s.controlled:
            note = self.info()["rewrite_note"]
            return {"text": text, "mode": "reconstruct", "result": reconstruction, "reconstruction": reconstruction,
                    "note": note}
        if not attributes:
            return {"text": text, "mode": "reconstruct", "result": reconstruction, "reconstruction": reconstruction,
                    "note": "no attribute value chosen: the sentence decoded from its own code"}
        result = self._call(lambda: s.transfer([text], attributes, scale=scale)[0])
        return {"text": text, "mode": "rewrite", "result": result, "reconstruction": reconstruction,
                "attributes": attributes, "scale": scale, "read": self._read(text), "note": ""}

    def interpolate(self, body: Any) -> dict[str, Any]:
        b = _fields(body, {"a", "b", "steps", "method"}, {"a", "b"})
        a, c = _text(b["a"], "a"), _text(b["b"], "b")
        self._need_latent("interpolate")
        steps = _int(b.get("steps", 5), "steps", 2, MAX_STEPS)
        method = b.get("method", "linear")
        if method not in ("linear", "slerp"):
            raise ApiError(400, f"method must be linear or slerp, got {method!r}")
        return {"sentences": self._call(lambda: self.sampler.interpolate(a, c, steps, method)), "method": method}

    def place(self, body: Any) -> dict[str, Any]:
        """The typed sentence's point on the map."""
        b = _fields(body, {"text"}, {"text"})
        text = _text(b["text"], "text")
        if not self.map.available:
            raise ApiError(409, f"no latent map: {self.map.reason}")
        return {"text": text, **self._call(lambda: self.map.place(self.sampler, text))}

    # -- helpers ---------------------------------------------------------------------------------------------
    def _need_latent(self, what: str) -> None:
        if not self.sampler.has_latent:
            raise ApiError(409, f"model '{self.sampler.model.name}' has no latent code, so it cannot {what}")

    def _read(self, text: str) -> dict[str, str]:
        """The model's own reading of the typed sentence's attributes (its classifiers), shown beside the rewrite."""
        import torch

        s = self.sampler
        b = s.batch([text])
        with torch.no_grad():
            read = self._call(lambda: s.model.predict_attributes(b["tokens"], b["lengths"]))
        out = {}
        for name, values in s.controlled.items():
            v = read[name][0]
            out[name] = values[int(v.argmax() if v.dim() else v)]
        return out

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one model call under the lock; sentae's own errors (an unknown attribute or value) become a 400
        that carries their message."""
        with self._lock:
            try:
                return fn()
            except SentaeError as exc:
                raise ApiError(400, str(exc)) from None
