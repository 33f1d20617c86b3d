"""Subword tokenizers: trained on the training split (WordPiece or byte-level BPE), or a pretrained one.

Only the `tokenizers` library (Rust, offline). Every tokenizer archbench saves uses [PAD] [UNK]
[CLS] [SEP] [MASK] and adds [CLS] ... [SEP] around a text, as BERT-style encoders expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts: Sequence[str], spec: dict[str, Any]) -> Any:
    """Train on the training texts only (the test set must not leak into the vocabulary)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if spec["kind"] == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=spec["lowercase"])
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=spec["vocab_size"], min_frequency=spec["min_frequency"],
                                            special_tokens=SPECIALS, show_progress=False)  # fmt: skip
    else:
        tok = Tokenizer(models.BPE(unk_token="[UNK]"))
        steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if spec["lowercase"] else [])
        tok.normalizer = normalizers.Sequence(steps)
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=spec["vocab_size"], min_frequency=spec["min_frequency"],
                                      special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)  # fmt: skip
    tok.train_from_iterator(list(texts), trainer=trainer, length=len(texts))
    if spec["kind"] == "wordpiece":
        tok.model = _sorted_wordpiece(tok.get_vocab())
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tok


def _sorted_wordpiece(vocab: dict[str, int]) -> Any:
    """The trainer numbers some tokens in hash-set order, so ids vary between runs even with the same
    vocabulary; renumbering (specials first, then sorted) makes a seeded build repeat exactly."""
    from tokenizers import models

    order = SPECIALS + sorted(t for t in vocab if t not in SPECIALS)
    return models.WordPiece({t: i for i, t in enumerate(order)}, unk_token="[UNK]")


def load_tokenizer(path: Path) -> tuple[Any, int, str]:
    """(tokenizer without padding or truncation, pad id, pad token): the profile decides the policy."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    pad_id, pad = pad_token(tok)  # read before the checkpoint's own padding settings are cleared
    tok.no_padding()
    tok.no_truncation()
    return tok, pad_id, pad


def pad_token(tok: Any) -> tuple[int, str]:
    """The pad id and token: from the tokenizer's own padding settings, else [PAD] / <pad>."""
    if tok.padding:
        return int(tok.padding["pad_id"]), str(tok.padding["pad_token"])
    for name in ("[PAD]", "<pad>"):
        pid = tok.token_to_id(name)
        if pid is not None:
            return int(pid), name
    return 0, tok.id_to_token(0) or "[PAD]"
