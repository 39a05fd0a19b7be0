"""transformer_vae: a sentence VAE from a Hugging Face encoder and a Hugging Face causal LM (Li et al. 2020,
Optimus). The encoder's states are pooled to the mean and log-variance of z; z reaches the decoder as a memory
(keys and values of a prefix in every layer) and/or as a vector added to every input embedding.

Pretrained parts are read once, when the model is first built; their configs and tokenizers are recorded in the
model's config (and so in model.json), so a run folder rebuilds the model and reads its text with no network.
"""
from __future__ import annotations

import dataclasses
import fnmatch
from typing import Any, Iterable

import torch
from torch import nn

from sentae import DataInfo, SentaeModel, StepContext, StepOutput
from sentae.data.pretrained_tokenizer import PretrainedTokenizer, load_hf_tokenizer
from sentae.generation.decoding import DecodeConfig, decode
from sentae.model import LatentTextModel, adamw
from sentae.nn import GaussianLatent, gaussian_kl

from .adapters import add_adapters, adapted_parts, is_adapter_parameter
from .config import TransformerVAEConfig
from .hf import CacheBridge, build_decoder, build_encoder, first_id, kv_layout
from .token_ids import DecoderIds, EncoderIds

# Built without data (create_model, the conformance kit): sentae's ids over a tiny vocabulary, or, with a
# pretrained tokenizer, that tokenizer's size (vocab_size None is filled in from it).
DEFAULT_INFO = dict(modality="text", vocab_size=None, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=14)
TINY_VOCAB = 37


class TransformerVAE(SentaeModel, LatentTextModel):
    """HF encoder -> pooled -> diagonal Gaussian z -> HF causal LM reading z as a memory and/or in its inputs."""

    name = "transformer_vae"
    modality = "text"
    config_class = TransformerVAEConfig
    paper = ("Li et al. 2020, Optimus: Organizing Sentences via Pre-trained Modeling of a Latent Space; "
             "Bowman et al. 2016 (word dropout, KL annealing); Kingma et al. 2016 (free bits)")
    sentae_api = 1
    tiny_config = {
        "latent_size": 7,
        "encoder_config": {"model_type": "bert", "hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
                           "intermediate_size": 19, "max_position_embeddings": 32},
        "decoder_config": {"model_type": "gpt2", "n_embd": 40, "n_layer": 3, "n_head": 5, "n_inner": 29,
                           "n_positions": 33},
    }

    def __init__(self, config: TransformerVAEConfig, data_info: DataInfo) -> None:
        config = dataclasses.replace(config)  # what is read from the pretrained parts is recorded in this copy
        if config.encoder is None and config.encoder_config is None:
            raise ValueError("the encoder comes from nowhere: set encoder (a folder or Hub name) or encoder_config")
        if config.decoder is None and config.decoder_config is None:
            raise ValueError("the decoder comes from nowhere: set decoder (a folder or Hub name) or decoder_config")
        first_build = config.encoder_config is None  # the pretrained encoder's own files are read this once
        data_tok = self._data_tokenizer(config)
        if data_info.vocab_size is None:
            data_info = dataclasses.replace(data_info, vocab_size=data_tok.vocab_size if data_tok else TINY_VOCAB)
        elif data_tok is not None and data_tok.vocab_size != data_info.vocab_size:
            raise ValueError(f"the data has {data_info.vocab_size} token ids, the tokenizer '{config.tokenizer}' "
                             f"{data_tok.vocab_size}: set data.options.tokenizer: pretrained and "
                             f"data.options.pretrained_tokenizer to the model's tokenizer")
        super().__init__(config, data_info)
        self.latent_size = config.latent_size
        self.encoder, config.encoder_config = build_encoder(config, data_info)
        self.latent = GaussianLatent(self.encoder.config.hidden_size, config.latent_size)
        self.decoder, config.decoder_config = build_decoder(config, data_info)
        dec = self.decoder.config
        self.layers, kv_heads, head_dim = kv_layout(dec)
        self._kv = (kv_heads, head_dim)
        hidden = self.decoder.get_input_embeddings().embedding_dim
        # Optimus' two ways in: a memory every layer attends to, and a vector added to every input embedding
        self.to_memory = (nn.Linear(config.latent_size, self.layers * 2 * config.memory_length * kv_heads * head_dim)
                          if config.z_memory else None)
        self.to_embedding = nn.Linear(config.latent_size, hidden) if config.z_embedding else None
        for layer in (self.to_memory, self.to_embedding):
            if layer is not None:
                # small and centred, as transformers starts new layers: a pretrained decoder begins as itself
                # (PyTorch's default init adds a random vector as large as the embeddings to every input)
                nn.init.normal_(layer.weight, std=getattr(dec, "initializer_range", 0.02))
                nn.init.zeros_(layer.bias)
        self.cache = CacheBridge(self.decoder, self.layers)
        lm_vocab = self.decoder.get_output_embeddings().weight.shape[0]
        unk = data_tok.hf_unk if data_tok is not None else None
        self.ids = DecoderIds(data_info, lm_vocab, config.decoder is not None, first_id(dec.bos_token_id),
                              first_id(dec.eos_token_id), unk)
        enc_tok = self._encoder_tokenizer(config, data_tok, first_build)
        max_positions = getattr(self.encoder.config, "max_position_embeddings", 514) - 2
        self.encoder_ids = EncoderIds(config.encoder is not None, data_tok, enc_tok, max_positions,
                                      self.encoder.config.pad_token_id or 0)
        add_adapters(self, config.adapters)  # last: every size above is read from the unadapted modules
        self._freeze(config)

    # -- construction ----------------------------------------------------------------------------------------
    @staticmethod
    def _data_tokenizer(config: TransformerVAEConfig) -> PretrainedTokenizer | None:
        """The data's pretrained tokenizer (recorded in the config the first time), or None for sentae's own ids
        (both parts then built from configs)."""
        if config.tokenizer_json is None:
            if config.encoder is None and config.decoder is None and config.tokenizer is None:
                return None
            name = config.tokenizer or (_gguf_path(config) if config.decoder_gguf else config.decoder) or config.encoder
            config.tokenizer = name
            config.tokenizer_json = PretrainedTokenizer(load_hf_tokenizer(name)).to_json()
        return PretrainedTokenizer.from_json(config.tokenizer_json)

    @staticmethod
    def _encoder_tokenizer(config: TransformerVAEConfig, data_tok: PretrainedTokenizer | None,
                           first_build: bool) -> PretrainedTokenizer | None:
        """A pretrained encoder's own tokenizer when it is not the data's (recorded the first time); else None."""
        if config.encoder is None:
            return None
        if config.encoder_tokenizer_json is None and first_build:
            own = PretrainedTokenizer(load_hf_tokenizer(config.encoder)).to_json()
            if data_tok is None or own != data_tok.to_json():
                config.encoder_tokenizer_json = own
        if config.encoder_tokenizer_json is None:
            return None
        return PretrainedTokenizer.from_json(config.encoder_tokenizer_json)

    def _freeze(self, config: TransformerVAEConfig) -> None:
        always = ("latent.", "to_memory.", "to_embedding.")
        adapted = tuple(part + "." for part in adapted_parts(config.adapters))
        for name, p in self.named_parameters():
            # an adapted part's own weights are fixed like frozen ones: its LoRA weights train instead
            frozen = name.startswith(adapted) or any(fnmatch.fnmatchcase(name, pat) for pat in config.frozen)
            kept = any(fnmatch.fnmatchcase(name, pat) for pat in config.trainable)
            p.requires_grad_(name.startswith(always) or is_adapter_parameter(name) or not frozen or kept)

    @classmethod
    def default_data_info(cls) -> DataInfo:
        return DataInfo(**DEFAULT_INFO)

    def optimizers(self, lr: float, weight_decay: float) -> dict[str, torch.optim.Optimizer]:
        return {"main": adamw([p for p in self.parameters() if p.requires_grad], lr, weight_decay)}

    @property
    def device(self) -> torch.device:
        return self.latent.to_stats.weight.device

    def _to_device(self) -> None:
        if self.ids.to_lm.device != self.device:
            self.ids.to(self.device)

    # -- the encoder -----------------------------------------------------------------------------------------
    def encode_stats(self, tokens: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = self.encoder_ids(tokens, lengths)
        states = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        if self.config.pooling == "first":
            pooled = states[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.latent(pooled)

    # -- the decoder -----------------------------------------------------------------------------------------
    def _memory(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """z -> the decoder state of the memory: keys and values ``[B, heads, memory_length, D]`` per layer."""
        if self.to_memory is None:
            return {}
        b, p = z.shape[0], self.config.memory_length
        kv = self.to_memory(z).view(b, self.layers, 2, p, *self._kv).permute(1, 2, 0, 4, 3, 5)
        out = {}
        for i in range(self.layers):
            out[f"k{i}"], out[f"v{i}"] = kv[i, 0], kv[i, 1]
        return out

    def _run(self, tokens: torch.Tensor, state: dict[str, torch.Tensor], z_emb: torch.Tensor | None,
             positions: torch.Tensor, token_mask: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """One decoder pass over ``tokens [B, T]`` (sentae ids) after the cached positions of ``state``."""
        self._to_device()
        embeds = self.decoder.get_input_embeddings()(self.ids.lm_ids(tokens))
        if z_emb is not None:
            embeds = embeds + z_emb.unsqueeze(1).to(embeds.dtype)
        past = state["k0"].shape[2] if "k0" in state else 0
        mask = torch.cat([token_mask.new_ones(tokens.shape[0], past), token_mask], 1)
        out = self.decoder(inputs_embeds=embeds, position_ids=positions, attention_mask=mask, use_cache=True,
                           **{self.cache.argument: self.cache.to_cache(state)})
        return out.logits, self.cache.cache_of(out)

    def sentence_nll(self, tokens: torch.Tensor, lengths: torch.Tensor, z: torch.Tensor | None,
                     inputs: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(x | z) per sentence in nats, summed over the predicted tokens (words + eos)."""
        if z is None:
            raise ValueError("transformer_vae decodes from a code z")
        inputs = tokens[:, :-1] if inputs is None else inputs
        t = inputs.shape[1]
        positions = torch.arange(t, device=tokens.device).unsqueeze(0).expand(len(tokens), t)
        token_mask = (positions < (lengths.to(tokens.device) - 1).unsqueeze(1)).long()
        z_emb = self.to_embedding(z) if self.to_embedding is not None else None
        logits, _ = self._run(inputs, self._memory(z), z_emb, positions, token_mask)
        # logsumexp minus the target's logit: no second [B, T, V] tensor of log-probabilities (IW-NLL decodes
        # K copies of a batch at once, and a pretrained vocabulary is 30,000-50,000 wide)
        logits = self.ids.masked(logits.float())
        # padding targets read the eos column (never masked) instead of a masked one, whose -inf would be NaN
        targets = self.ids.lm_ids(tokens[:, 1:].masked_fill(token_mask == 0, self.data_info.eos_id))
        nll = torch.logsumexp(logits, -1) - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return (nll * token_mask).sum(1)

    def start_state(self, z: torch.Tensor | None, batch_size: int) -> dict[str, torch.Tensor]:
        """The decoder-step state: the memory's keys/values, the position and z's embedding term, batch-first."""
        if z is None:
            raise ValueError("transformer_vae decodes from a code z")
        state = self._memory(z)
        state["position"] = torch.zeros(batch_size, dtype=torch.long, device=z.device)
        if self.to_embedding is not None:
            state["z_embedding"] = self.to_embedding(z)
        return state

    def decode_step(self, tokens: torch.Tensor, state: dict[str, torch.Tensor]
                    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One token per sequence through the decoder with its key/value cache: ``[B]`` -> logits ``[B, V]``."""
        pos = state["position"]
        kv = {k: v for k, v in state.items() if k[0] in "kv" and k[1:].isdigit()}
        logits, cache = self._run(tokens.unsqueeze(1), kv, state.get("z_embedding"), pos.unsqueeze(1),
                                  torch.ones_like(tokens).unsqueeze(1))
        new = self.cache.to_state(cache)
        new["position"] = pos + 1
        if "z_embedding" in state:
            new["z_embedding"] = state["z_embedding"]
        return self.ids.sentae_logits(logits[:, -1].float()), new

    def generate(self, z: torch.Tensor | None, n: int, config: DecodeConfig | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Token ids ``[n, T]`` decoded from codes ``z [n, latent_size]`` through sentae's shared decoding."""
        info = self.data_info
        return decode(self, z, n, info.bos_id, info.eos_id, info.pad_id, config or DecodeConfig(), generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Greedy sentences decoded from z ~ N(0, I)."""
        z = torch.randn(n, self.latent_size, generator=generator, device=self.device)
        return self.generate(z, n, DecodeConfig(strategy="greedy", max_length=self.data_info.max_length or 30))

    # -- training ----------------------------------------------------------------------------------------------
    def kl_penalty(self, kl_dims: torch.Tensor) -> torch.Tensor:
        """The KL term that is minimised, with free bits applied to the batch-mean KL."""
        lam = self.config.free_bits
        if lam <= 0:
            return kl_dims.sum(1).mean()
        if self.config.free_bits_mode == "per_dim":
            return kl_dims.mean(0).clamp(min=lam).sum()
        return kl_dims.sum(1).mean().clamp(min=lam)

    def _word_dropout(self, inputs: torch.Tensor) -> torch.Tensor:
        rate, info = self.config.word_dropout, self.data_info
        if rate <= 0 or not self.training:
            return inputs
        keep = (inputs == info.bos_id) | (inputs == info.pad_id)
        drop = (torch.rand(inputs.shape, device=inputs.device) < rate) & ~keep
        return inputs.masked_fill(drop, info.unk_id)

    def training_step(self, batch: dict[str, torch.Tensor], ctx: StepContext) -> StepOutput:
        tokens, lengths = batch["tokens"], batch["lengths"]
        mu, logvar = self.encode_stats(tokens, lengths)
        z = GaussianLatent.sample(mu, logvar)
        rec = self.sentence_nll(tokens, lengths, z, inputs=self._word_dropout(tokens[:, :-1]))
        kl_dims = gaussian_kl(mu, logvar)
        beta = self.config.kl.weight(ctx.step, ctx.total_steps)
        loss = rec.mean() + beta * self.kl_penalty(kl_dims)
        return StepOutput(loss, {"rec": rec.mean().detach(), "kl": kl_dims.sum(1).mean().detach(), "beta": beta})

    @torch.no_grad()
    def evaluate(self, batches: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out ELBO terms (beta = 1, no word dropout), the bound per predicted token, active units
        (Cov_x E[z|x] > 0.01) and a mutual-information estimate."""
        from sentae.evaluation.text import active_units, mutual_information

        rec_sum = kl_sum = count = n = 0.0
        mus, logvars = [], []
        for batch in batches:
            tokens, lengths = batch["tokens"], batch["lengths"]
            mu, logvar = self.encode_stats(tokens, lengths)
            rec_sum += float(self.sentence_nll(tokens, lengths, GaussianLatent.sample(mu, logvar)).sum())
            kl_sum += float(gaussian_kl(mu, logvar).sum())
            count += float((lengths - 1).sum())
            n += len(lengths)
            mus.append(mu.float())
            logvars.append(logvar.float())
        mu, logvar = torch.cat(mus), torch.cat(logvars)
        return {
            "rec": rec_sum / n,
            "kl": kl_sum / n,
            "elbo": -(rec_sum + kl_sum) / n,
            "nll_bound_per_token": (rec_sum + kl_sum) / count,
            "active_units": float(active_units(mu)[0]),
            "mi": float(mutual_information(mu[:1000], logvar[:1000])),
        }

    def example_batch(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Random sentences of 1..max_length-2 tokens, framed by bos/eos and padded."""
        info = self.data_info
        lengths = torch.randint(1, info.max_length - 1, (batch_size,), generator=generator) + 2
        tokens = torch.full((batch_size, int(lengths.max())), info.pad_id, dtype=torch.long)
        for i, n in enumerate(lengths.tolist()):
            words = torch.randint(4, info.vocab_size, (n - 2,), generator=generator)
            tokens[i, 0], tokens[i, 1 : n - 1], tokens[i, n - 1] = info.bos_id, words, info.eos_id
        return {"tokens": tokens, "lengths": lengths}


def _gguf_path(config: TransformerVAEConfig) -> str:
    from pathlib import Path

    return str(Path(config.decoder) / config.decoder_gguf)
