"""Control accuracy of attribute-conditioned generation: sample every combination of attribute values, judge each
sentence with independent judges (a classifier run, the tense labeller, a corpus's construction rules) and report
accuracy per attribute and jointly, per cell, with diversity and (optionally) fluency."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..errors import SentaeError
from .text import distinct_n, uniqueness

Judge = Callable[[Sequence[str]], Sequence[str | None]]  # sentences -> value per sentence (None: no verdict)


def classifier_judge(run_dir: str) -> tuple[Judge, str]:
    """A trained ``text_classifier`` run as a judge, with its description (held-out accuracy included)."""
    from .classifier import AttributeClassifier

    clf = AttributeClassifier(run_dir)
    return clf.predict, clf.describe()


def tense_judge() -> tuple[Judge, str]:
    """The rule-based tense labeller as a judge ('none' -> no verdict)."""
    from ..data.tense import label_tense

    def judge(texts: Sequence[str]) -> list[str | None]:
        return [None if (t := label_tense(s)) == "none" else t for s in texts]

    return judge, "rule-based tense labeller (sentae.data.tense)"


def control_report(sampler, judges: dict[str, tuple[Judge, str]], per_cell: int = 100, seed: int = 0,
                   fluency_lm: str | None = None, batch_size: int = 200, **decoding: Any) -> dict[str, Any]:
    """Generate ``per_cell`` sentences for every combination of the controlled attributes' values and judge them.

    ``judges`` maps an attribute to (judge, description). A sentence counts as right for an attribute when the
    judge returns the requested value; "no verdict" counts as wrong. Joint accuracy: right on every judged
    attribute at once."""
    ctrl = sampler.controlled
    if not ctrl:
        raise SentaeError(f"model '{sampler.model.name}' has no attribute codes to control")
    unknown = [a for a in judges if a not in ctrl]
    if unknown:
        raise SentaeError(f"judges for {', '.join(unknown)}, which the model does not control ({', '.join(ctrl)})")
    cells, all_sentences = [], []
    right = {a: 0 for a in judges}
    joint = total = 0
    # Cell i, chunk from sentence j: seed + 1000 i + j, so that each cell is repeatable on its own.
    for want, sentences in sampler.sample_grid(per_cell, seed=seed, batch_size=batch_size, cell_seed_stride=1000,
                                               **decoding):
        verdicts = {a: list(j(sentences)) for a, (j, _) in judges.items()}
        ok = {a: [v == want[a] for v in verdicts[a]] for a in judges}
        cell_joint = sum(all(ok[a][n] for a in judges) for n in range(len(sentences)))
        cells.append({**want, **{f"acc_{a}": sum(ok[a]) / len(sentences) for a in judges},
                      "acc_joint": cell_joint / len(sentences), "examples": sentences[:3]})
        for a in judges:
            right[a] += sum(ok[a])
        joint += cell_joint
        total += len(sentences)
        all_sentences += sentences
    report: dict[str, Any] = {
        "model": sampler.model.name,
        "per_cell": per_cell,
        "sentences": total,
        "decoding": decoding or {"strategy": "sample"},
        "judges": {a: d for a, (_, d) in judges.items()},
        "accuracy": {a: right[a] / total for a in judges},
        "joint_accuracy": joint / total,
        "distinct_1": distinct_n([s.split() for s in all_sentences], 1),
        "distinct_2": distinct_n([s.split() for s in all_sentences], 2),
        "uniqueness": uniqueness(all_sentences),
        "cells": cells,
    }
    if fluency_lm is not None:
        from .fluency import lm_perplexity

        report["fluency_ppl"] = lm_perplexity(fluency_lm, [s if s.strip() else "." for s in all_sentences])["ppl_per_word"]
    return report


def format_control(report: dict[str, Any]) -> str:
    """A readable table: accuracy per cell and overall, each judge named."""
    attrs = list(report["accuracy"])
    cell_keys = [k for k in report["cells"][0] if not k.startswith("acc_") and k != "examples"]
    lines = [f"{report['model']}: {report['per_cell']} samples per cell, {report['sentences']} in all"]
    lines += [f"  judge of {a}: {d}" for a, d in report["judges"].items()]
    head = cell_keys + [f"acc {a}" for a in attrs] + ["joint"]
    rows = [[str(c[k]) for k in cell_keys] + [f"{c[f'acc_{a}']:.3f}" for a in attrs] + [f"{c['acc_joint']:.3f}"]
            for c in report["cells"]]
    rows.append(["all"] + [""] * (len(cell_keys) - 1) + [f"{report['accuracy'][a]:.3f}" for a in attrs]
                + [f"{report['joint_accuracy']:.3f}"])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(head, widths)))
    lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    extra = f"distinct-1 {report['distinct_1']:.3f}, distinct-2 {report['distinct_2']:.3f}, unique {report['uniqueness']:.3f}"
    if "fluency_ppl" in report:
        extra += f", fluency perplexity {report['fluency_ppl']:.1f}"
    lines.append("  " + extra)
    return "\n".join(lines)
