"""Candidate specs: built-in families, import strings, .onnx files, transformers (config or pretrained)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from archbench.config.base import IMPORT_PATTERN, Frozen, PositiveFloat, SafeName, VariantName, resolve_user_path
from archbench.errors import ConfigError


class TrainSettings(Frozen):
    epochs: int = Field(30, ge=0, le=10_000)
    lr: PositiveFloat = 2e-3
    batch_size: int = Field(64, ge=1, le=65536)
    seed: int = Field(0, ge=0, le=2**32 - 1)  # torch and numpy seeds are 32/64-bit
    weight_decay: float = Field(0.0, ge=0, allow_inf_nan=False)


class MlpParams(Frozen):
    hidden: list[Annotated[int, Field(ge=1, le=65536)]] = Field(default_factory=lambda: [64])
    dropout: float = Field(0.0, ge=0, lt=1)


class CnnParams(Frozen):
    channels: list[Annotated[int, Field(ge=1, le=4096)]] = Field(default_factory=lambda: [8, 16], min_length=1)
    hidden: int = Field(64, ge=1, le=65536)


class CandidateBase(Frozen):
    def resolve_paths(self, base: Path, file: str | Path, key: str) -> CandidateBase:
        """Paths resolve against the config file's folder and must exist; kinds with files override this."""
        return self

    # What the candidate's model takes as input; it must match the task kind's (archbench/registry.py).
    modality: ClassVar[str] = "tensor"

    name: SafeName
    variants: list[VariantName] = Field(default_factory=lambda: ["torch", "onnx"], min_length=1)
    train: TrainSettings | None = None  # overrides the sweep's training settings

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, variants: list[str]) -> list[str]:
        if len(set(variants)) != len(variants):
            raise ValueError("variants must not repeat")
        return variants


class BuiltinCandidate(CandidateBase):
    kind: Literal["builtin"] = "builtin"
    family: Literal["mlp", "cnn"]
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _params_fit_family(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        model = {"mlp": MlpParams, "cnn": CnnParams}.get(info.data.get("family", ""))
        if model is not None:
            try:
                model.model_validate(params)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in err["loc"])
                reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                raise ValueError(f"{where}: {reason}") from None
        return params

    def family_params(self) -> MlpParams | CnnParams:
        return (MlpParams if self.family == "mlp" else CnnParams).model_validate(self.params)


class ImportCandidate(CandidateBase):
    """A PyTorch model from the user's own code. Runs that code, by design (like pytest does)."""

    kind: Literal["import"] = "import"
    target: str = Field(pattern=IMPORT_PATTERN, description="package.module:factory")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    trained: bool = Field(False, description="the factory returns trained weights: skip training")
    weights: str | None = Field(None, description="a .safetensors file to load instead of training")

    def resolve_paths(self, base: Path, file: str | Path, key: str) -> ImportCandidate:
        if not self.weights:
            return self
        try:
            weights = resolve_user_path(base, self.weights, file, f"{key}.weights", "weights file")
        except ConfigError:
            raise ConfigError(file, f"{key}.weights", f"no such weights file: {self.weights}") from None
        return self.model_copy(update={"weights": weights})


class OnnxCandidate(CandidateBase):
    kind: Literal["onnx"] = "onnx"
    path: str
    variants: list[VariantName] = Field(default_factory=lambda: ["onnx"], min_length=1)

    @field_validator("variants")
    @classmethod
    def _onnx_only(cls, variants: list[str]) -> list[str]:
        from archbench.registry import variant

        bad = [v for v in variants if variant(v).needs_torch_module]
        if bad:
            raise ValueError(f"an .onnx file runs only on ONNX Runtime variants, not {bad}")
        return variants

    def resolve_paths(self, base: Path, file: str | Path, key: str) -> OnnxCandidate:
        try:
            path = resolve_user_path(base, self.path, file, f"{key}.path", ".onnx file")
        except ConfigError:
            raise ConfigError(file, f"{key}.path", f"no such .onnx file: {self.path}") from None
        return self.model_copy(update={"path": path})


class TokenizerSpec(Frozen):
    """A subword tokenizer trained on the training split (offline, `tokenizers` library).

    Byte-level BPE is the default because its training repeats exactly; WordPiece training in
    `tokenizers` breaks merge ties in hash order (huggingface/tokenizers#1794), so its vocabulary
    can differ by a few tokens from one build to the next.
    """

    kind: Literal["bpe", "wordpiece"] = "bpe"
    vocab_size: int = Field(4000, ge=100, le=500_000)
    min_frequency: int = Field(2, ge=1, le=1_000_000)
    lowercase: bool = True


class BertOverrides(Frozen):
    """The BERT config keys a from-scratch candidate may set; anything else is a typo."""

    hidden_size: int = Field(64, ge=4, le=8192)
    num_hidden_layers: int = Field(2, ge=1, le=128)
    num_attention_heads: int = Field(2, ge=1, le=256)
    intermediate_size: int = Field(128, ge=1, le=65536)
    max_position_embeddings: int = Field(512, ge=8, le=65536)
    hidden_act: Literal["gelu", "gelu_new", "relu", "silu"] = "gelu"
    hidden_dropout_prob: float = Field(0.1, ge=0, lt=1)
    attention_probs_dropout_prob: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _heads_divide_hidden(self) -> BertOverrides:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")  # fmt: skip
        return self


class TextCandidateBase(CandidateBase):
    modality: ClassVar[str] = "text"

    max_length: int = Field(128, ge=4, le=65536, description="tokens; longer texts are truncated")
    pooling: Literal["mean", "cls"] = "mean"


class HfConfigCandidate(TextCandidateBase):
    """A BERT-style transformer built from a config with overrides, trained from scratch."""

    kind: Literal["hf-config"] = "hf-config"
    model_type: Literal["bert"] = "bert"
    config: BertOverrides = Field(default_factory=BertOverrides)
    tokenizer: TokenizerSpec = Field(default_factory=TokenizerSpec)

    @model_validator(mode="after")
    def _fits_positions(self) -> HfConfigCandidate:
        if self.max_length > self.config.max_position_embeddings:
            raise ValueError(f"max_length {self.max_length} exceeds config.max_position_embeddings "
                             f"{self.config.max_position_embeddings}")  # fmt: skip
        return self


class HfPretrainedCandidate(TextCandidateBase):
    """A local pretrained encoder directory (local files only, never remote code) plus a trained head."""

    kind: Literal["hf-pretrained"] = "hf-pretrained"
    path: str = Field(min_length=1, description="directory with config.json, weights and tokenizer.json")
    mode: Literal["frozen", "finetune"] = Field("frozen", description="train the head only, or everything")
    keep_layers: int | None = Field(None, ge=1, le=1024, description="keep the first k encoder layers")

    def resolve_paths(self, base: Path, file: str | Path, key: str) -> HfPretrainedCandidate:
        from archbench.candidates.text_checks import check_pretrained_dir

        directory = Path(self.path) if Path(self.path).is_absolute() else (base / self.path).resolve()
        check_pretrained_dir(self, directory, file, key)
        return self.model_copy(update={"path": str(directory)})


Candidate = Annotated[
    BuiltinCandidate | ImportCandidate | OnnxCandidate | HfConfigCandidate | HfPretrainedCandidate,
    Field(discriminator="kind"),
]




def _candidate_classes() -> dict[str, type[CandidateBase]]:
    return {c.model_fields["kind"].default: c for c in
            (BuiltinCandidate, ImportCandidate, OnnxCandidate, HfConfigCandidate, HfPretrainedCandidate)}  # fmt: skip


