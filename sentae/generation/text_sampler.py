"""TextSampler: sample, reconstruct, encode, interpolate, transfer attributes and find neighbours with any trained
text model."""
from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

import torch

from ..errors import SentaeError
from ..model import SentaeModel, has_latent, is_controllable
from .decoding import DecodeConfig, check_decoding
from .labelled import Labelled, read_labelled_file, training_pairs, training_texts
from .latent_arithmetic import Direction, direction, move
from .sampler import Sampler

SAMPLE_BATCH = 256  # sentences decoded at once: what bounds memory however many are asked for
MAX_STEPS = 10_000  # sentences on one interpolation path


def check_count(what: str, value: Any, low: int = 1) -> int:
    """``value`` if it is an integer of at least ``low``; else one ``SentaeError`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SentaeError(f"{what} must be an integer, got {value!r}")
    if value < low:
        raise SentaeError(f"{what} must be at least {low}, got {value}")
    return value


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (White 2016); falls back to linear when a and b are (nearly) parallel."""
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).clamp(-1, 1)
    omega = torch.acos(cos)
    if float(omega) < 1e-4:
        return (1 - t) * a + t * b
    so = torch.sin(omega)
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


class TextSampler(Sampler):
    """A trained text model with its tokenizer.

    >>> sampler = sentae.load("runs/ptb_vae")                          # doctest: +SKIP
    >>> sampler.sample(3, seed=0)                                     # doctest: +SKIP
    >>> sampler.reconstruct(["the company said N shares"], strategy="beam", beam=5)  # doctest: +SKIP
    >>> sampler.interpolate("a b c", "d e f", steps=5, method="slerp")  # doctest: +SKIP
    >>> sampler.transfer(["the food was bad ."], {"sentiment": "positive"}, scale=2)  # doctest: +SKIP
    >>> sampler.neighbours("the food was bad .", n=5)                    # doctest: +SKIP
    """

    def __init__(self, model: SentaeModel, run_dir: Path | None, tokenizer) -> None:
        super().__init__(model, run_dir)
        self.tokenizer = tokenizer
        self.info = model.data_info
        self._directions: dict[tuple, Direction] = {}
        self._pool: tuple[tuple, list[str], torch.Tensor] | None = None

    # -- helpers ---------------------------------------------------------------------------------------------
    @property
    def has_latent(self) -> bool:
        return has_latent(self.model)

    def _require_latent(self, what: str) -> None:
        if not self.has_latent:
            raise SentaeError(f"model '{self.model.name}' has no latent code, so it cannot {what}")

    def decode_config(self, **kw) -> DecodeConfig:
        """A ``DecodeConfig`` from decoding options (``None`` values mean "the default"); an unknown option is an
        error that names the closest one."""
        kw = {k: v for k, v in check_decoding(kw, "decoding").items() if v is not None}
        for name, value in kw.items():
            # NaN passes every comparison the config makes, and would sample garbage instead of failing
            if isinstance(value, float) and not math.isfinite(value):
                raise SentaeError(f"decoding: {name} must be a finite number, got {value}")
        # data max_length counts bos and eos; a generated sentence counts its eos only
        kw.setdefault("max_length", (self.info.max_length or 31) - 1)
        return DecodeConfig(**kw)

    def batch(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise sentences into a model batch (bos + ids + eos, padded; truncated to the model's max length)."""
        if not texts:
            raise SentaeError("no input sentences")
        limit = (self.info.max_length or 10**9) - 2
        from ..data.text import frame

        return frame([self.tokenizer.encode(t)[:limit] for t in texts], self.info, self.device)

    def to_text(self, ids: torch.Tensor) -> list[str]:
        return [self.tokenizer.decode(row.tolist()) for row in ids]

    @torch.no_grad()
    def decode(self, z: torch.Tensor | None, n: int | None = None, seed: int | None = None, **decoding: Any) -> list[str]:
        """Sentences decoded from given codes ``z`` ``[n, code]`` (for a controllable model the full code, as
        :meth:`codes` gives it; for a language model ``z=None`` and ``n`` sentences). Greedy unless ``strategy``
        says otherwise.

        >>> z = sampler.encode(["the food was bad ."])                                # doctest: +SKIP
        >>> sampler.decode(z + 0.5 * sampler.attribute_offset("sentiment", "positive"))  # doctest: +SKIP
        """
        if z is not None:
            n = len(z)
        if n is None:
            raise SentaeError("decode: give codes z, or n for a model without a latent")
        cfg = self.decode_config(**decoding)
        return self.to_text(self.model.generate(z if z is None else z.to(self.device), n, cfg, self._generator(seed)))

    # -- what users call -------------------------------------------------------------------------------------
    @property
    def controlled(self) -> dict[str, list[str]]:
        """Attributes the model generates from a structured code (ctrl_vae): name -> values; else empty."""
        return dict(self.model.controlled) if is_controllable(self.model) else {}

    def attribute_indices(self, values: dict[str, str], n: int) -> dict[str, torch.Tensor]:
        """Value names -> index tensors ``[n]`` for the model's structured code; an unknown attribute or value is an
        error that lists the valid ones."""
        ctrl = self.controlled
        if values and not ctrl:
            raise SentaeError(f"model '{self.model.name}' has no attribute codes to set "
                              f"(ctrl_vae has; other models change attributes with transfer())")
        out = {}
        for name, value in values.items():
            if name not in ctrl:
                raise SentaeError(f"unknown attribute '{name}'; model '{self.model.name}' controls: "
                                  + "; ".join(f"{a} ({', '.join(v)})" for a, v in ctrl.items()))
            if value not in ctrl[name]:
                raise SentaeError(f"unknown value '{value}' of attribute '{name}'; valid values: {', '.join(ctrl[name])}")
            out[name] = torch.full((n,), ctrl[name].index(value), dtype=torch.long, device=self.device)
        return out

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, attributes: dict[str, str] | None = None,
               **decoding: Any) -> list[str]:
        """``n`` sentences from the prior (z ~ N(0, I)); language models sample from p(x) directly. With a
        controllable model, ``attributes`` fix values of the structured code; the attributes not given are drawn
        at random. Keywords are decoding options (``DecodeConfig`` fields); sampling unless ``strategy`` says.

        >>> sampler.sample(5, attributes={"sentiment": "positive", "tense": "future"})  # doctest: +SKIP
        >>> sampler.sample(5, attributes={"tense": "past"}, strategy="sample", top_p=0.9)  # doctest: +SKIP
        """
        return [s for chunk in self.iter_samples(n, seed, attributes, **decoding) for s in chunk]

    def iter_samples(self, n: int, seed: int | None = None, attributes: dict[str, str] | None = None,
                     batch_size: int = SAMPLE_BATCH, **decoding: Any) -> Iterator[list[str]]:
        """:meth:`sample`'s ``n`` sentences as lists of at most ``batch_size``, each decoded when it is asked for;
        the batch starting at sentence ``j`` uses seed ``seed + j``. The arguments are checked at once.

        >>> for batch in sampler.iter_samples(10_000, seed=0): ...  # doctest: +SKIP
        """
        check_count("sample: n", n)
        check_count("sample: batch_size", batch_size)
        if attributes is not None and not isinstance(attributes, dict):
            raise SentaeError(f"sample: attributes must be a mapping such as {{'tense': 'past'}}, got {attributes!r}")
        cfg = self.decode_config(**{"strategy": "sample", **decoding})
        fixed = dict(attributes or {})
        self.attribute_indices(fixed, 1)  # an unknown attribute or value fails before anything is decoded
        return self._sample_batches(n, seed, fixed, batch_size, cfg)

    @torch.no_grad()
    def _sample_batches(self, n: int, seed: int | None, fixed: dict[str, str], batch_size: int,
                        cfg: DecodeConfig) -> Iterator[list[str]]:
        for start in range(0, n, batch_size):
            k = min(batch_size, n - start)
            g = self._generator(None if seed is None else seed + start)
            yield self.to_text(self.model.generate(self._draw_codes(k, g, fixed), k, cfg, g))

    def _draw_codes(self, k: int, g: torch.Generator | None, fixed: dict[str, str]) -> torch.Tensor | None:
        """``k`` prior codes from ``g`` (the full code of a controllable model: ``fixed`` values, the rest drawn)."""
        chosen = self.attribute_indices(fixed, k)
        z = torch.randn(k, self.model.latent_size, generator=g, device=self.device) if self.has_latent else None
        if self.controlled:
            z = self.model.full_code(z, {**self.model.random_attributes(k, self.device, g), **chosen})
        return z

    @torch.no_grad()
    def prior_codes(self, n: int, seed: int, batch_size: int = SAMPLE_BATCH,
                    attributes: dict[str, str] | None = None) -> torch.Tensor:
        """The ``n`` codes :meth:`iter_samples` decodes with this ``seed`` and ``batch_size`` (the chunk starting at
        sentence ``j`` drawn with seed ``seed + j``), without decoding them: greedy decoding of these codes in
        batches of any size gives the same sentences, so small seed chunks need not mean small decoding batches."""
        check_count("prior_codes: n", n)
        check_count("prior_codes: batch_size", batch_size)
        if not self.has_latent:
            raise SentaeError(f"prior_codes: model '{self.model.name}' has no latent code")
        fixed = dict(attributes or {})
        return torch.cat([self._draw_codes(min(batch_size, n - start), self._generator(seed + start), fixed)
                          for start in range(0, n, batch_size)])

    def grid_cells(self, fixed: dict[str, str] | None = None) -> list[dict[str, str]]:
        """Every combination of the controlled attributes' values (an attribute in ``fixed`` keeps its value), in
        the order of the model's attributes and values."""
        ctrl = self.controlled
        if not ctrl:
            raise SentaeError(f"a grid needs a model with attribute codes; '{self.model.name}' has none")
        fixed = dict(fixed or {})
        self.attribute_indices(fixed, 1)  # validates the names and values
        names = list(ctrl)
        choices = [[fixed[a]] if a in fixed else ctrl[a] for a in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*choices)]

    @torch.no_grad()
    def sample_grid(self, per_cell: int, fixed: dict[str, str] | None = None, seed: int | None = None,
                    batch_size: int | None = None, cell_seed_stride: int = 1,
                    **decoding: Any) -> list[tuple[dict[str, str], list[str]]]:
        """``per_cell`` samples for every cell of :meth:`grid_cells`, as (cell, sentences) pairs. Cell ``i`` is
        drawn in chunks of ``batch_size`` (default: one chunk), the chunk starting at sentence ``j`` with seed
        ``seed + cell_seed_stride * i + j``, so every cell is repeatable on its own.

        >>> for cell, sentences in sampler.sample_grid(3, seed=0, top_p=0.9): ...  # doctest: +SKIP
        """
        check_count("sample_grid: per_cell", per_cell)
        if batch_size is not None:
            check_count("sample_grid: batch_size", batch_size)
        out = []
        step = batch_size or per_cell
        for i, cell in enumerate(self.grid_cells(fixed)):
            sentences: list[str] = []
            for start in range(0, per_cell, step):
                k = min(step, per_cell - start)
                chunk_seed = None if seed is None else seed + cell_seed_stride * i + start
                sentences += self.sample(k, seed=chunk_seed, attributes=cell, **decoding)
            out.append((cell, sentences))
        return out

    @torch.no_grad()
    def codes(self, texts: Sequence[str], attributes: dict[str, str] | None = None, scale: float = 1.0) -> torch.Tensor:
        """What the decoder is given to rewrite ``texts``: the posterior means, and for a controllable model the
        structured code too: the model's classifiers' reading of each sentence, moved toward ``attributes`` by
        ``scale`` (1: the asked value exactly; below 1 a blend of the read and the asked value, above 1 beyond the
        asked value). A sentence read at the asked value keeps its own code whatever the scale."""
        z = self.encode(texts)
        if not self.controlled:
            if attributes:
                self.attribute_indices(attributes, len(texts))  # raises the explanatory error
            return z
        b = self.batch(texts)
        read = self.model.predict_attributes(b["tokens"], b["lengths"])
        attrs: dict[str, torch.Tensor] = dict(read)
        for name, target in self.attribute_indices(attributes or {}, len(texts)).items():
            if scale == 1.0:
                attrs[name] = target
                continue
            k = len(self.controlled[name])
            own = read[name] if read[name].dim() == 2 else torch.nn.functional.one_hot(read[name], k).float()
            attrs[name] = own + scale * (torch.nn.functional.one_hot(target, k).float() - own)
        return self.model.full_code(z, attrs)

    @torch.no_grad()
    def encode(self, texts: Sequence[str], sample: bool = False, seed: int | None = None,
               batch_size: int = SAMPLE_BATCH, show_progress: bool = False) -> torch.Tensor:
        """Codes ``[N, latent]``: the posterior mean, or a sample from q(z|x) with ``sample=True`` (one generator
        under ``seed`` across the batches). Any number of sentences, ``batch_size`` at a time, with a progress bar
        on stderr when ``show_progress``.

        >>> codes = sampler.encode(sentences, batch_size=512, show_progress=True)  # doctest: +SKIP
        """
        self._require_latent("encode")
        check_count("encode: batch_size", batch_size)
        texts = list(texts)
        if not texts:
            raise SentaeError("no input sentences")
        g = self._generator(seed) if sample else None
        starts = range(0, len(texts), batch_size)
        bar = None
        if show_progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), unit=" sentences", desc="encode", file=sys.stderr, dynamic_ncols=True)
        out = []
        try:
            for start in starts:
                b = self.batch(texts[start : start + batch_size])
                mu, logvar = self.model.encode_stats(b["tokens"], b["lengths"])  # LatentTextModel
                if sample and logvar is not None:  # deterministic encoders (dae, aae) have no posterior to sample
                    mu = mu + torch.randn(mu.shape, generator=g, device=mu.device) * (0.5 * logvar).exp()
                out.append(mu)
                if bar is not None:
                    bar.update(len(mu))
        finally:
            if bar is not None:
                bar.close()
        return torch.cat(out)

    @torch.no_grad()
    def reconstruct(self, texts: Sequence[str], seed: int | None = None, **decoding: Any) -> list[str]:
        """Decode the posterior mean of each sentence (greedy unless ``strategy`` says otherwise), in batches of
        ``SAMPLE_BATCH`` (the batch starting at sentence ``j`` uses seed ``seed + j``)."""
        texts = list(texts)
        if not texts:
            raise SentaeError("no input sentences")
        self.decode_config(**decoding)  # a bad option fails before any work
        out: list[str] = []
        for start in range(0, len(texts), SAMPLE_BATCH):
            chunk_seed = None if seed is None else seed + start
            out += self.decode(self.codes(texts[start : start + SAMPLE_BATCH]), seed=chunk_seed, **decoding)
        return out

    @torch.no_grad()
    def interpolate(self, a: str, b: str, steps: int = 5, method: Literal["linear", "slerp"] = "linear",
                    seed: int | None = None, **decoding: Any) -> list[str]:
        """Sentences decoded along the path between the codes of ``a`` and ``b`` (both ends included)."""
        check_count("interpolate: steps", steps, 2)
        if steps > MAX_STEPS:
            raise SentaeError(f"interpolate: steps must be at most {MAX_STEPS:,}, got {steps:,}")
        if method not in ("linear", "slerp"):
            raise SentaeError(f"unknown interpolation '{method}' (linear, slerp)")
        za, zb = self.codes([a, b])
        ts = torch.linspace(0, 1, steps).tolist()
        path = [(1 - t) * za + t * zb if method == "linear" else slerp(za, zb, t) for t in ts]
        return self.decode(torch.stack(path), seed=seed, **decoding)

    # -- latent arithmetic -----------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_many(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """Posterior means of many sentences, in batches (``encode`` batches itself; kept for callers)."""
        return self.encode(texts, batch_size=batch_size)

    def _pairs(self, attribute: str, labelled: Labelled) -> list[tuple[str, str]]:
        if labelled is None:
            values = self.info.attributes.get(attribute)
            if values is None:
                have = ", ".join(self.info.attributes) or "none"
                raise SentaeError(f"the model's training data has no attribute '{attribute}' (attributes: {have}); "
                                  f"pass labelled sentences (a .jsonl/.csv/.tsv file with a '{attribute}' column)")
            return training_pairs(self.run_dir, attribute, values)
        if isinstance(labelled, (str, Path)):
            return read_labelled_file(labelled, attribute)
        return [(str(t), str(v)) for t, v in labelled]

    @torch.no_grad()
    def attribute_direction(self, attribute: str, to: str, source: str | None = None, labelled: Labelled = None,
                            count: int = 2000, seed: int = 0) -> Direction:
        """The latent direction toward value ``to`` of ``attribute`` (``sentae.generation.latent_arithmetic``),
        from ``labelled`` sentences or the run's training data: its offset and its reading of the value."""
        self._require_latent("do latent arithmetic")
        check_count("attribute_offset: count", count)
        key = (attribute, to, source, labelled if isinstance(labelled, (str, Path, type(None))) else id(labelled),
               count, seed)
        if key not in self._directions:
            pairs = self._pairs(attribute, labelled)
            self._directions[key] = direction(self.encode_many, pairs, attribute, to, source, count, seed)
        return self._directions[key]

    @torch.no_grad()
    def attribute_offset(self, attribute: str, to: str, source: str | None = None, labelled: Labelled = None,
                         count: int = 2000, seed: int = 0) -> torch.Tensor:
        """mean code of sentences whose ``attribute`` is ``to`` - mean code of those whose value is ``source``
        (default: every other value). Up to ``count`` sentences per side, a fixed random choice under ``seed``."""
        return self.attribute_direction(attribute, to, source, labelled, count, seed).offset

    @torch.no_grad()
    def transfer(self, texts: Sequence[str], attributes: dict[str, str] | None = None, *, attribute: str | None = None,
                 to: str | None = None, scale: float = 1.0, source: str | None = None, labelled: Labelled = None,
                 count: int = 2000, seed: int | None = None, keep_matching: bool = True,
                 **decoding: Any) -> list[str]:
        """Rewrite ``texts`` with other attribute values: ``attributes={"tense": "past", ...}`` (or one
        ``attribute=``/``to=`` pair), several at once. Keywords are decoding options (greedy by default).

        A controllable model (ctrl_vae, rewriter) keeps each sentence's z and sets the structured code (``scale``
        below or above 1 stops short of the asked value's code or goes beyond it, the knob of an accuracy/content
        curve); a sentence its classifiers already read at the asked value keeps its code, so it is decoded as
        ``reconstruct`` decodes it. Any other model moves each code by ``scale`` times the offset of each asked value
        (:meth:`attribute_direction`) and decodes it; with ``keep_matching`` (the default) a code that the linear
        reading of an attribute already puts at the asked value is not moved along that attribute.

        >>> sampler.transfer(["the staff was rude ."], {"sentiment": "positive"}, scale=2)  # doctest: +SKIP
        >>> ctrl_sampler.transfer(["we loved the pasta ."], {"tense": "future"})          # doctest: +SKIP
        """
        if attributes is not None and not isinstance(attributes, dict):
            raise SentaeError(f"transfer: attributes must be a mapping such as {{'sentiment': 'positive'}}, got "
                              f"{attributes!r} (for one attribute: attribute=..., to=...)")
        values = {str(k): str(v) for k, v in (attributes or {}).items()}
        if attribute is not None:
            if to is None:
                raise SentaeError(f"transfer: attribute '{attribute}' needs a target value (to=...)")
            values[attribute] = to
        elif to is not None:
            raise SentaeError("transfer: to=... needs attribute=... (or pass attributes={name: value})")
        if not values:
            raise SentaeError("transfer: name the attribute and the value to move toward "
                              "(attributes={'sentiment': 'positive'}, or attribute=..., to=...)")
        self.decode_config(**decoding)  # an unknown decoding option fails before any work
        check_count("transfer: count", count)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise SentaeError(f"transfer: scale must be a finite number, got {scale!r}")
        if self.controlled:
            return self.decode(self.codes(texts, values, scale), seed=seed, **decoding)
        if source is not None and len(values) > 1:
            raise SentaeError("transfer: source=... (the value to move away from) applies to one attribute at a time")
        directions = [self.attribute_direction(name, value, source, labelled, count) for name, value in values.items()]
        z = move(self.encode(texts), directions, scale, keep_matching)
        return self.decode(z, seed=seed, **decoding)

    @torch.no_grad()
    def neighbours(self, text: str, n: int = 5, pool: Sequence[str] | None = None, count: int = 20000,
                   metric: Literal["euclidean", "cosine"] = "euclidean",
                   show_progress: bool = False) -> list[tuple[str, float]]:
        """The ``n`` sentences nearest to ``text`` in latent space (posterior means), among ``pool`` or the first
        ``count`` sentences of the run's training data; with their distances (cosine: 1 - cosine similarity)."""
        self._require_latent("find neighbours")
        check_count("neighbours: n", n)
        check_count("neighbours: count", count)
        if metric not in ("euclidean", "cosine"):
            raise SentaeError(f"unknown metric '{metric}' (euclidean, cosine)")
        key = (id(pool) if pool is not None else None, count)
        if self._pool is None or self._pool[0] != key:
            texts = list(pool) if pool is not None else training_texts(self.run_dir)[:count]
            if not texts:
                raise SentaeError("no sentences to search among")
            self._pool = (key, texts, self.encode(texts, show_progress=show_progress))
        _, texts, codes = self._pool
        z = self.encode([text])
        if metric == "euclidean":
            dist = (codes - z).norm(dim=1)
        else:
            dist = 1 - torch.nn.functional.cosine_similarity(codes, z, dim=1)
        best = dist.topk(min(n, len(texts)), largest=False)
        return [(texts[i], float(d)) for d, i in zip(best.values.tolist(), best.indices.tolist())]
