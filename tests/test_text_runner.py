"""Text requests and the tokenizer stage: real-length draws, padding policies, per-stage timing. No torch."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import numpy as np
import pytest

from archbench.errors import CandidateError
from archbench.jobs import BuildOutput
from archbench.tasks.base import TaskData
from archbench.tasks.batches import accuracy_batches, latency_batches
from tests.text_data import rows

TEXTS = [r["text"] for r in rows()]


def text_task() -> TaskData:
    x = np.array(TEXTS, dtype=str)
    y = np.arange(len(x)) % 2
    return TaskData("t", "text", 2, x[:60], y[:60], x[60:], y[60:])


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> dict:
    """The files a text build leaves for the tokenizer stage: tokenizer.json and text_model.json."""
    from archbench.candidates.text_tokenizer import pad_token, train_tokenizer

    root = tmp_path_factory.mktemp("build")
    tok = train_tokenizer(TEXTS, {"kind": "wordpiece", "vocab_size": 120, "min_frequency": 1, "lowercase": True})
    pad_id, pad = pad_token(tok)
    tok.save(str(root / "tokenizer.json"))
    meta = {"num_classes": 2, "max_length": 24, "pad_id": pad_id, "pad_token": pad, "max_positions": 64}
    (root / "text_model.json").write_text(json.dumps(meta))
    return BuildOutput(artifacts={"tokenizer": str(root / "tokenizer.json"), "model_dir": str(root)})


def adapter(build, seq_len):
    from archbench.candidates.hf import TokenizerAdapter

    return TokenizerAdapter(build, SimpleNamespace(seq_len=seq_len))


def test_latency_requests_are_real_test_texts():
    task = text_task()
    batches = latency_batches(task, 4, np.random.default_rng(0))
    assert len(batches) >= 64 and all(isinstance(b, list) and len(b) == 4 for b in batches)
    drawn = {t for b in batches for t in b}
    assert drawn <= set(task.x_test.tolist()) and len(drawn) == len(task.x_test)  # the whole distribution
    assert all(type(t) is str for t in batches[0])


def test_accuracy_batches_are_the_test_set_in_order_as_strings():
    task = text_task()
    batches = list(accuracy_batches(task, 8))
    assert [len(b) for b in batches] == [8, 8, 4]
    assert [t for b in batches for t in b] == task.x_test.tolist()


def test_real_length_policy_pads_to_the_longest_and_truncates_at_max_length(build):
    stage = adapter(build, "real")
    short, long = "good tea", " ".join(["bad coffee"] * 40)
    ids, mask = stage.encode([short])
    assert ids.shape == (1, mask.sum()) and mask.all()  # alone: no padding at all
    ids, mask = stage.encode([short, long])
    assert ids.shape == (2, 24) and ids.dtype == np.int64
    assert mask[0].sum() < 24 and (ids[0][mask[0] == 0] == stage.meta["pad_id"]).all()
    assert "real lengths" in stage.policy and "24 tokens" in stage.policy


def test_fixed_policy_pads_and_truncates_every_request(build):
    stage = adapter(build, 16)
    ids, mask = stage.encode(["good", " ".join(["bad"] * 50)])
    assert ids.shape == (2, 16) and mask[1].all() and 3 <= mask[0].sum() < 16
    assert stage.policy.startswith("fixed") and "16 tokens" in stage.policy


def test_a_fixed_length_beyond_the_models_positions_is_a_candidate_error(build):
    with pytest.raises(CandidateError, match="exceeds the model's 64 positions"):
        adapter(build, 65)


def test_stage_times_cover_only_calls_after_the_reset(build):
    from archbench.backends.variant import Runner

    class Slow(Runner):
        def _bind(self, arrays):
            return arrays

        def _model(self, feeds):
            time.sleep(0.002)
            return feeds[0]

    runner = Slow(adapter(build, "real"))
    for _ in range(3):
        runner(runner.prepare(np.array(["warm up"])))
    runner.reset_stages()
    for text in TEXTS[:10]:
        runner(runner.prepare(np.array([text])))
    stages = runner.stage_latency_ms()
    assert len(runner._stage_ns) == 10
    assert 0 < stages["tokenizer_p50"] < stages["model_p50"] and stages["model_p50"] >= 2
    assert stages["tokenizer_p95"] >= stages["tokenizer_p50"]
    assert "tokens wide at the median" in runner.padding_policy


@pytest.mark.parametrize("kind", ["bpe", "wordpiece"])
def test_tokenizer_training_is_offline_and_bpe_repeats_exactly(kind):
    from archbench.candidates.text_tokenizer import train_tokenizer

    spec = {"kind": kind, "vocab_size": 400, "min_frequency": 1, "lowercase": True}
    tok = train_tokenizer(TEXTS, spec)
    enc = tok.encode("Good COFFEE")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]" and tok.token_to_id("[PAD]") == 0
    if kind == "bpe":  # WordPiece training breaks ties in hash order upstream (huggingface/tokenizers#1794)
        assert train_tokenizer(TEXTS, spec).to_str() == tok.to_str()
