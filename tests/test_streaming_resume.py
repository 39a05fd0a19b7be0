"""Exact resume of streamed training: after a kill, the resumed run trains on exactly the batches (token ids) of an
uninterrupted run; the stream's position is in the trainer state and a changed stream is refused; TokenStream
resumes from its state_dict; under DDP each rank takes its own shard of windows."""
from __future__ import annotations

import random

import pytest
import torch

import sentae
from sentae.data import DataConfig, build_data
from sentae.data import token_cache
from sentae.data.streaming import StreamPlan, TokenStream
from sentae.errors import DataError
from sentae.training.checkpoint import load_state
from sentae.training.config import TrainConfig
from sentae.training.distributed import DistInfo
from sentae.training.trainer import Trainer

WORDS = "the a cat dog sat ran on under mat rug quickly slowly big small red green will was is".split()


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(token_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(token_cache.SWITCH_ENV, raising=False)


@pytest.fixture
def corpus(tmp_path):
    rng = random.Random(0)
    path = tmp_path / "pool.txt"
    path.write_text("\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) for _ in range(600)) + "\n")
    return path


def streamed(path, buffer=64):
    return build_data(DataConfig(source="text", path=str(path), val_fraction=0.05, test_fraction=0.05,
                                 options={"stream": True, "shuffle_buffer": buffer}))


def recorded(data):
    """``data`` whose train batches' token ids are appended to the returned list as the Trainer asks for them."""
    seen: list[list[list[int]]] = []
    get = data.get_batch

    def get_batch(split, indices):
        batch = get(split, indices)
        if split == "train":
            seen.append(batch["tokens"].tolist())
        return batch

    data.get_batch = get_batch
    return seen


class Killed(Exception):
    pass


def fit(data, run, steps, resume=False, kill_at=None):
    torch.manual_seed(0)
    model = sentae.create_model("rnn_vae", data_info=data.info, embedding_size=5, hidden_size=6, latent_size=3)
    cfg = TrainConfig(max_steps=steps, batch_size=16, eval_every=0, ckpt_every=4, progress="none", seed=2, threads=1)

    def kill(step, metrics):
        if step == kill_at:
            raise Killed  # as a SIGKILL would: no checkpoint for this step

    return Trainer(cfg, run, resume=resume, callbacks=[kill]).fit(model, data)


def test_killed_and_resumed_training_sees_the_batches_of_an_uninterrupted_run(corpus, tmp_path):
    whole = streamed(corpus)
    per_epoch = len(whole.batches("train", 16, epoch=0, seed=2))
    steps = per_epoch + 9  # the resumed part crosses an epoch boundary
    uninterrupted = recorded(whole)
    fit(whole, tmp_path / "a", steps)

    first = streamed(corpus)
    before = recorded(first)
    with pytest.raises(Killed):
        fit(first, tmp_path / "b", steps, kill_at=per_epoch - 2)  # the last checkpoint is at a multiple of 4
    ckpt_step = (per_epoch - 2) // 4 * 4
    assert before == uninterrupted[: per_epoch - 2]
    state = load_state(tmp_path / "b" / "checkpoints" / f"step-{ckpt_step:08d}" / "trainer_state.pt")
    assert state["stream"]["pos"] == state["pos"] == ckpt_step and state["stream"]["epoch"] == 0
    assert state["stream"]["store"] == whole.store and state["stream"]["shuffle_buffer"] == 64

    again = streamed(corpus)  # a new process: the data built again (from the cache)
    after = recorded(again)
    fit(again, tmp_path / "b", steps, resume=True)
    assert after == uninterrupted[ckpt_step:]


def test_a_changed_stream_is_refused_on_resume(corpus, tmp_path):
    fit(streamed(corpus), tmp_path / "run", 8)
    with pytest.raises(DataError, match=r"shuffle_buffer 64 -> 50"):
        fit(streamed(corpus, buffer=50), tmp_path / "run", 12, resume=True)


def test_token_stream_resumes_from_its_state(corpus):
    data = streamed(corpus, buffer=100)
    stream = TokenStream(data, batch_size=8, seed=5)
    it = iter(stream)
    n = len(data.batches("train", 8, seed=5))
    uninterrupted = [next(it)["tokens"].tolist() for _ in range(n + 10)]
    stream = TokenStream(data, batch_size=8, seed=5)
    it = iter(stream)
    for _ in range(n - 3):
        next(it)
    state = stream.state_dict()
    resumed = TokenStream(streamed(corpus, buffer=100), batch_size=8, seed=5)
    resumed.load_state_dict(state)
    it = iter(resumed)
    assert [next(it)["tokens"].tolist() for _ in range(13)] == uninterrupted[n - 3 :]
    other = TokenStream(streamed(corpus, buffer=90), batch_size=8, seed=5)
    with pytest.raises(DataError, match="shuffle_buffer 100 -> 90"):
        other.load_state_dict(state)


def test_each_rank_takes_its_own_shard_of_windows(corpus, tmp_path):
    data = streamed(corpus)
    cfg = TrainConfig(batch_size=16, seed=3, progress="none")
    plans = []
    for rank in range(2):
        trainer = Trainer(cfg, tmp_path / "run")
        trainer.dist = DistInfo(rank=rank, world_size=2)
        plans.append(trainer._epoch_batches(data, 1))
    assert all(isinstance(p, StreamPlan) for p in plans) and len(plans[0]) == len(plans[1])
    sets = [{i for b in p for i in b} for p in plans]
    assert not sets[0] & sets[1]
    assert [{i // 64 for i in s} for s in sets] == [set(p.mine.tolist()) for p in plans]
    stream = TokenStream(data, 16, seed=3, rank=1, world=2)
    stream.epoch = 1
    assert stream.plan()[:] == plans[1][:]


DDP_SCRIPT = '''
import json, os, sys
import torch
import sentae
from sentae.data import DataConfig, build_data
from sentae.training.config import TrainConfig
from sentae.training.trainer import Trainer

corpus, run, world_out = sys.argv[1], sys.argv[2], sys.argv[3]
data = build_data(DataConfig(source="text", path=corpus, val_fraction=0.05, test_fraction=0.05,
                             options={"stream": True, "shuffle_buffer": 64}))
seen = []
get = data.get_batch
data.get_batch = lambda split, idx: (seen.append(list(idx)) if split == "train" else None) or get(split, idx)
torch.manual_seed(0)
model = sentae.create_model("rnn_vae", data_info=data.info, embedding_size=5, hidden_size=6, latent_size=3)
cfg = TrainConfig(max_steps=int(sys.argv[4]), batch_size=16, eval_every=0, ckpt_every=4, progress="none", seed=2,
                  threads=1, device="cpu")
Trainer(cfg, run, resume=len(sys.argv) > 5).fit(model, data)
with open(f"{world_out}.{os.environ.get('RANK', '0')}.json", "w") as f:
    json.dump(seen, f)
'''


def test_ddp_ranks_read_disjoint_windows_under_torchrun(corpus, tmp_path):
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    assert torchrun, "torchrun not found beside the Python interpreter"
    script = tmp_path / "ddp_stream.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run, seen = tmp_path / "run", tmp_path / "seen"
    res = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(script), str(corpus), str(run),
                          str(seen), "8"], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    ranks = [json.loads(Path(f"{seen}.{r}.json").read_text()) for r in range(2)]
    assert [len(r) for r in ranks] == [8, 8]
    sentences = [{i for b in r for i in b} for r in ranks]
    assert not sentences[0] & sentences[1]
    plan = streamed(corpus).batches("train", 16, epoch=0, seed=2)
    for r in range(2):
        assert ranks[r] == plan.shard(r, 2)[:8]  # each rank reads the first batches of its own windows
    state = torch.load(run / "trainer_state.pt", weights_only=True)
    assert state["stream"]["world"] == 2 and state["stream"]["pos"] == 8
    # one process cannot continue a two-process stream
    res = subprocess.run([sys.executable, str(script), str(corpus), str(run), str(seen), "12", "resume"],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode != 0 and "world 2 -> 1" in res.stderr
