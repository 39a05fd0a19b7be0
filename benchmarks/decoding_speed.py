"""Decoding speed of the common text-VAE size: greedy, nucleus sampling and beam search, now against a git revision.

Model: rnn_vae, embedding 256, LSTM 512 (bidirectional encoder), latent 32, a 10,000-word vocabulary, random
weights (untrained: no sentence ends early, so every row decodes exactly ``--max-length`` tokens and the rows
compare the same work). Rows: greedy and sampling (top-p 0.9) decode ``--batch`` sentences from z ~ N(0, I) in one
call, as ``Sampler.sample`` does; beam search (width 5) decodes ``--beam-batch`` codes. Each row runs with the
decoding code of the working tree ("now") and of ``--before`` (``sentae/generation/decoding.py`` and the decoder
step of ``sentae/nn/rnn.py`` at that revision, loaded from ``git show``), on the same model and codes. The rows take
turns ``--repeats`` times; medians are reported, with the user and system CPU seconds of each median run. The
rows marked bf16 decode with ``precision="bf16"`` now against fp32 decoding at ``--before`` (the speed a user gets
by asking for it), with the share of sentences that came out identical.

    OMP_NUM_THREADS=1 python benchmarks/decoding_speed.py --repeats 3
    OMP_NUM_THREADS=1 python benchmarks/decoding_speed.py --repeats 3 --run runs/NAME   # adds a trained model's rows

With ``--run`` the same rows run on a trained text model as well, whose sentences end at their own lengths (the
random model's never do), so finished sentences leaving the batch show in the numbers.

One thread: the JSON records the machine's fp32/bf16 matrix-multiply rate in the same sitting (the vocabulary
projection's shape, one thread), so a number measured on one host can be set against another's.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import torch

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"embedding_size": 256, "hidden_size": 512, "latent_size": 32, "cell": "lstm"}
VOCAB = 10_000


def module_at(revision: str, path: str, name: str) -> ModuleType:
    """``path`` as it was at git ``revision``, imported as module ``name`` (a sibling of the file, so its relative
    imports resolve against the installed package)."""
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    tmp = Path(tempfile.mkdtemp()) / Path(path).name
    tmp.write_text(source)
    spec = importlib.util.spec_from_file_location(name, tmp)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class StepOf:
    """A decoder seen through another revision's ``decode_step`` (same weights, same start state)."""

    def __init__(self, decoder: torch.nn.Module, decoder_class: type) -> None:
        self.decoder, self.decoder_class = decoder, decoder_class

    def start_state(self, z, batch_size):
        return self.decoder_class.start_state(self.decoder, z, batch_size)

    def decode_step(self, tokens, state):
        return self.decoder_class.decode_step_embedded(self.decoder, self.decoder.embedding(tokens), state)


def build_model() -> torch.nn.Module:
    import sentae
    from sentae import DataInfo

    info = DataInfo(modality="text", vocab_size=VOCAB, pad_id=0, bos_id=1, eos_id=2, unk_id=3, max_length=31)
    torch.manual_seed(0)
    return sentae.create_model("rnn_vae", data_info=info, **MODEL).eval()


def identical_share(a: torch.Tensor, b: torch.Tensor, pad_id: int) -> float:
    """Share of rows (sentences) that are the same tokens in ``a`` and ``b`` (padded to a common width)."""
    width = max(a.shape[1], b.shape[1])
    a = torch.nn.functional.pad(a, (0, width - a.shape[1]), value=pad_id)
    b = torch.nn.functional.pad(b, (0, width - b.shape[1]), value=pad_id)
    return float((a == b).all(1).float().mean())


def same_cell(entry: dict) -> str:
    if "same_output_as_before" not in entry:
        return "(draws differ)"
    if entry["same_output_as_before"]:
        return "yes"
    return f"no ({entry['identical_sentences_share']:.0%} of sentences identical)"


def timed(fn) -> tuple[torch.Tensor, dict]:
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    out = fn()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return out, {"wall_s": wall, "user_s": after.ru_utime - before.ru_utime, "sys_s": after.ru_stime - before.ru_stime}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="8ce9b752d8",
                    help="git revision whose decoding code is the reference (default: the last one with the per-candidate beam search)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256, help="sentences per call, greedy and sampling")
    ap.add_argument("--beam-batch", type=int, default=64, help="codes per call, beam search")
    ap.add_argument("--max-length", type=int, default=30)
    ap.add_argument("--run", help="a trained text run folder: its decoder gets the same rows")
    ap.add_argument("--out", default="benchmarks/results/decoding_speed.json")
    ap.add_argument("--host-note", default="", help="what else the host was doing, recorded in the JSON")
    args = ap.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from throughput import matmul_rate

    from sentae.generation import decoding as now

    old = module_at(args.before, "sentae/generation/decoding.py", "sentae.generation._decoding_before")
    old_rnn = module_at(args.before, "sentae/nn/rnn.py", "sentae.nn._rnn_before")
    models = {"": build_model()}
    if args.run:
        import sentae

        models[f" ({Path(args.run).name})"] = sentae.load(args.run).model.eval()
    rows = {}
    for suffix, model in models.items():
        for name, options, n in (("greedy", {"strategy": "greedy"}, args.batch),
                                 ("sample top-p 0.9", {"strategy": "sample", "top_p": 0.9}, args.batch),
                                 ("beam 5", {"strategy": "beam", "beam": 5}, args.beam_batch),
                                 ("greedy, bf16", {"strategy": "greedy", "precision": "bf16"}, args.batch),
                                 ("beam 5, bf16", {"strategy": "beam", "beam": 5, "precision": "bf16"},
                                  args.beam_batch)):
            rows[name + suffix] = (options, n, model)
    rate = matmul_rate("cpu")
    runs: dict[tuple[str, str], list[dict]] = {(r, v): [] for r in rows for v in ("now", "before")}
    same: dict[str, bool] = {}
    identical: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        for row, (options, n, model) in rows.items():
            info, outputs = model.data_info, {}
            decoders = {"now": (now, model.decoder), "before": (old, StepOf(model.decoder, old_rnn.RNNDecoder))}
            for version, (module, step) in decoders.items():
                z = torch.randn(n, model.latent_size, generator=torch.Generator().manual_seed(repeat)) \
                    if model.latent_size else None
                # the reference decodes in fp32 (before the precision option, every decode did)
                kept = {k: v for k, v in options.items() if version == "now" or k != "precision"}
                cfg = module.DecodeConfig(max_length=args.max_length, **kept)
                gen = torch.Generator().manual_seed(repeat)
                out, clock = timed(lambda: module.decode(step, z, n, info.bos_id, info.eos_id, info.pad_id, cfg, gen))
                outputs[version] = out
                runs[(row, version)].append({**clock, "sentences_per_s": n / clock["wall_s"],
                                             "tokens": int((out != info.pad_id).sum())})
            if options["strategy"] != "sample":  # sampling draws differently now: its sentences differ by design
                same[row] = same.get(row, True) and torch.equal(outputs["now"], outputs["before"])
                identical.setdefault(row, []).append(identical_share(outputs["now"], outputs["before"], info.pad_id))
    table = []
    for row, (options, n, _model) in rows.items():
        entry = {"row": row, "sentences_per_call": n, **options}
        for version in ("before", "now"):
            tries = sorted(runs[(row, version)], key=lambda r: r["sentences_per_s"])
            median = tries[len(tries) // 2]
            entry[version] = {"sentences_per_s": round(median["sentences_per_s"], 1),
                              "sentences_per_s_all": [round(r["sentences_per_s"], 1) for r in runs[(row, version)]],
                              "user_s": round(median["user_s"], 2), "sys_s": round(median["sys_s"], 2),
                              "wall_s": round(median["wall_s"], 2),
                              # over every repeat: each repeat decodes other codes, the same for both versions
                              "tokens_per_sentence": round(statistics.mean(r["tokens"] for r in runs[(row, version)])
                                                           / n, 1)}
        entry["speedup"] = round(statistics.median(r["sentences_per_s"] for r in runs[(row, "now")])
                                 / statistics.median(r["sentences_per_s"] for r in runs[(row, "before")]), 2)
        if row in same:
            entry["same_output_as_before"] = same[row]
            entry["identical_sentences_share"] = round(statistics.mean(identical[row]), 3)
        table.append(entry)
    result = {"benchmark": "decoding_speed", "model": {"type": "rnn_vae", **MODEL, "vocab_size": VOCAB,
                                                        "weights": "random (torch.manual_seed(0))"},
              "trained_run": args.run, "max_length": args.max_length, "before": args.before,
              "before_commit": subprocess.run(["git", "rev-parse", args.before], cwd=ROOT, capture_output=True,
                                              text=True).stdout.strip(),
              "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
              "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
                         + (f", {args.host_note}" if args.host_note else ""),
              "matmul_rate_one_thread": rate, "torch": torch.__version__, "rows": table}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"machine: {result['machine']}; one thread; matmul {rate['fp32_gflops']} GFLOP/s fp32, "
          f"{rate['bf16_gflops']} bf16; max_length {args.max_length}; before = {args.before}")
    print("\n| row | sentences/call | before: sentences/s | user s | sys s | now: sentences/s | user s | sys s "
          "| × before | same output |\n|---|---|---|---|---|---|---|---|---|---|")
    for e in table:
        b, w = e["before"], e["now"]
        print(f"| {e['row']} | {e['sentences_per_call']} | {b['sentences_per_s']} | {b['user_s']} | {b['sys_s']} | "
              f"{w['sentences_per_s']} | {w['user_s']} | {w['sys_s']} | {e['speedup']} | "
              f"{same_cell(e)} |")


if __name__ == "__main__":
    main()
