"""The attribute code c that ctrl_vae and rewriter share: one block per attribute the decoder reads (a one-hot value
or a distribution over the values), the model's own classifiers that read c from a sentence, and the classifiers'
loss on labelled sentences.

A model using it sets ``controlled`` (attribute -> values, in code order) and ``classifiers`` (an ``nn.ModuleDict``
of sentence classifiers by attribute) and has ``data_info``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from sentae import DataInfo

from .common import example_batch


class AttributeCodes:
    controlled: dict[str, list[str]]
    data_info: DataInfo

    def full_code(self, z: torch.Tensor, attrs: dict[str, torch.Tensor]) -> torch.Tensor:
        """[z, c]: ``attrs`` maps each attribute to value indices ``[B]`` or distributions ``[B, K]``."""
        blocks = [z]
        for a, vals in self.controlled.items():
            v = attrs[a]
            blocks.append(F.one_hot(v, len(vals)).to(z.dtype) if v.dim() == 1 else v.to(z.dtype))
        return torch.cat(blocks, 1)

    def classify(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each classifier's logits for real (token id) sentences."""
        return {a: clf(tokens, lengths) for a, clf in self.classifiers.items()}

    def predict_attributes(self, tokens: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """Most likely value index per attribute, by the model's own classifiers."""
        return {a: logits.argmax(1) for a, logits in self.classify(tokens, lengths).items()}

    def random_attributes(self, n: int, device, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        return {a: torch.randint(len(vals), (n,), generator=generator, device=device) for a, vals in self.controlled.items()}

    def real_codes(self, batch, logits: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """c for real sentences: the label where there is one, else the classifier's (detached) distribution."""
        out = {}
        for a, vals in self.controlled.items():
            probs = logits[a].detach().softmax(1)
            labels = batch.get(f"attr_{a}")
            if labels is not None:
                known = labels >= 0
                probs = torch.where(known.unsqueeze(1), F.one_hot(labels.clamp(min=0), len(vals)).to(probs.dtype), probs)
            out[a] = probs
        return out

    def labelled_classifier_loss(self, batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Cross-entropy of every classifier on the sentences labelled with its attribute (a missing label, -1, is
        skipped), and each one's accuracy on them."""
        tokens, lengths = batch["tokens"], batch["lengths"]
        loss = torch.zeros((), device=tokens.device)
        metrics: dict[str, float] = {}
        for a, logits in self.classify(tokens, lengths).items():
            labels = batch.get(f"attr_{a}")
            known = labels >= 0 if labels is not None else torch.zeros(len(tokens), dtype=torch.bool, device=tokens.device)
            if bool(known.any()):
                loss = loss + F.cross_entropy(logits[known], labels[known])
                metrics[f"clf_acc/{a}"] = float((logits[known].argmax(1) == labels[known]).float().mean())
            else:
                loss = loss + 0.0 * logits.sum()  # keeps every classifier in the graph of this step
        return loss, metrics

    def labelled_example_batch(self, batch_size: int, generator: torch.Generator):
        """A synthetic batch with a label per attribute; one sentence per batch is unlabelled, so the
        semi-supervised path is always exercised."""
        batch = example_batch(self.data_info, batch_size, generator)
        for a, vals in self.controlled.items():
            labels = torch.randint(len(vals), (batch_size,), generator=generator)
            labels[0] = -1
            batch[f"attr_{a}"] = labels
        return batch
