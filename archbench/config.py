"""Validated, frozen configuration: hardware profiles, budgets, candidates, the sweep.

Pure: imports neither torch nor onnxruntime, so validation is instant and testable anywhere.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from archbench.errors import ConfigError

PERCENTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
IMPORT_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
SafeName = Annotated[str, Field(pattern=NAME_PATTERN)]


def _known_variant(name: str) -> str:
    from archbench.registry import variant_names

    if name not in variant_names():
        raise ValueError(f"{name!r} is not one of {', '.join(repr(v) for v in variant_names())}")
    return name


VariantName = Annotated[str, AfterValidator(_known_variant)]  # a name in archbench/registry.py's VARIANTS


class Frozen(BaseModel):
    # strict: YAML's `yes` must not become 1 thread, nor "5" a 5 ms budget.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Budget(Frozen):
    """What a deployment target tolerates. A missing field means no budget on it."""

    latency_ms: PositiveFloat | None = None
    percentile: Literal["p50", "p90", "p95", "p99"] = "p95"
    memory_mb: PositiveFloat | None = None
    min_accuracy: Fraction | None = None
    max_model_mb: PositiveFloat | None = None
    min_throughput: PositiveFloat | None = Field(None, description="items per second")
    min_slice_accuracy: dict[SafeName, Fraction] = Field(default_factory=dict)

    @property
    def quantile(self) -> float:
        return PERCENTILES[self.percentile]


class MeasureSettings(Frozen):
    """How long and how carefully one (candidate, variant, profile) is timed."""

    confidence: float = Field(0.99, gt=0.5, lt=1)
    warmup: int = Field(10, ge=0, le=100_000)
    min_samples: int = Field(20, ge=5, le=1_000_000)
    max_samples: int = Field(20_000, ge=5, le=10_000_000)
    max_seconds: PositiveFloat = 4.0
    min_seconds: float = Field(0.2, ge=0, le=3600, description="no verdict from less measuring time than this")
    run_queue_threshold: float = Field(
        0.05, gt=0, le=1, description="disturbed when the timed threads waited for a core this share of the loop"
    )
    target_rel_width: PositiveFloat = Field(0.05, description="stop when the bound's width/estimate is below")
    fixed_samples: int | None = Field(None, ge=5, le=10_000_000, description="disable adaptive stopping")
    throughput_seconds: PositiveFloat = Field(0.5, le=600, description="back-to-back calls for items/s")
    timeout_s: PositiveFloat = Field(300.0, description="kill the measuring child after this long")
    interference_threshold: float = Field(
        1.25, ge=1.0, le=100.0, description="re-measure when the core ran this many times slower than its quietest"
    )
    interference_retries: int = Field(2, ge=0, le=10, description="re-measurements of a disturbed measurement")

    @model_validator(mode="after")
    def _ordered(self) -> MeasureSettings:
        if self.max_samples < self.min_samples:
            raise ValueError("max_samples must be >= min_samples")
        return self


class UpstreamStage(Frozen):
    """A pipeline stage before the model (e.g. OCR): consumes latency budget, caps accuracy."""

    name: SafeName
    latency_ms: float = Field(0.0, ge=0, allow_inf_nan=False)
    accuracy: Fraction = 1.0


class HardwareProfile(Frozen):
    name: SafeName
    description: str = ""
    device: Literal["cpu", "cuda"]
    threads: int = Field(ge=1, le=1024)
    cores: list[Annotated[int, Field(ge=0, le=4095)]] | None = None
    batch_size: int = Field(1, ge=1, le=65536)
    input_shape: list[Annotated[int, Field(ge=1, le=1_000_000)]] | None = None
    seq_len: Annotated[int, Field(ge=1, le=1_000_000)] | Literal["real"] | None = None
    budget: Budget = Field(default_factory=Budget)
    measure: MeasureSettings = Field(default_factory=MeasureSettings)
    upstream: list[UpstreamStage] = Field(default_factory=list)

    @field_validator("seq_len", mode="before")
    @classmethod
    def _seq_len(cls, value: Any) -> Any:
        ok = value is None or value == "real" or (type(value) is int and 1 <= value <= 1_000_000)
        if not ok:
            raise ValueError(f"must be a token count from 1 to 1000000 or 'real', not {value!r}")
        return value

    @field_validator("cores")
    @classmethod
    def _unique_cores(cls, cores: list[int] | None) -> list[int] | None:
        if cores is not None and (not cores or len(set(cores)) != len(cores)):
            raise ValueError("cores must be a non-empty list of distinct core ids")
        return cores


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


class TaskSpecBase(Frozen):
    """What every task kind's spec has; each kind's own spec (in its module) adds the rest."""

    kind: str
    metric: Literal["accuracy", "balanced_accuracy", "macro_f1"] = Field(
        "accuracy", description="what min_accuracy and slice floors are judged on"
    )


def validate_task_spec(data: Any) -> TaskSpecBase:
    """Dispatch a task block to the spec class its kind registered (archbench/registry.py)."""
    from archbench.registry import task_kind

    if isinstance(data, TaskSpecBase):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"expected a mapping of keys, got {type(data).__name__}")
    kind = data.get("kind", "digits")
    if not isinstance(kind, str):
        raise ValueError(f"task.kind must be a name, not {type(kind).__name__}")
    return task_kind(kind).Spec.model_validate(data)


def _default_task() -> TaskSpecBase:
    return validate_task_spec({"kind": "digits"})




class SweepConfig(Frozen):
    task: TaskSpecBase = Field(default_factory=_default_task)
    train: TrainSettings = Field(default_factory=TrainSettings)
    candidates: list[Candidate] = Field(min_length=1)
    profiles: list[str] | None = Field(None, description="profile names or paths; default: shipped CPU ones")
    repeats: int = Field(1, ge=1, le=100, description="interleaved repeats of every measurement")

    @field_validator("task", mode="before")
    @classmethod
    def _task_by_kind(cls, value: Any) -> TaskSpecBase:
        return validate_task_spec(value)

    @field_validator("candidates")
    @classmethod
    def _unique_names(cls, candidates: list[Any]) -> list[Any]:
        names = [c.name for c in candidates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"candidate names must be unique, repeated: {', '.join(dupes)}")
        return candidates

    @field_validator("candidates")
    @classmethod
    def _candidates_fit_task(cls, candidates: list[Any], info: ValidationInfo) -> list[Any]:
        from archbench.registry import task_kind

        task = info.data.get("task")  # validated first: it is declared first
        if task is None:
            return candidates
        modality = task_kind(task.kind).modality
        for i, cand in enumerate(candidates):
            if cand.modality != modality:
                wanted = ", ".join(sorted(k for k, c in _candidate_classes().items() if c.modality == modality))
                raise ValueError(f"item {i} ({cand.name}) is {cand.kind}; a {task.kind} task takes {wanted} candidates")
        return candidates

    def train_settings(self, candidate: CandidateBase) -> TrainSettings:
        return candidate.train or self.train


def _candidate_classes() -> dict[str, type[CandidateBase]]:
    return {c.model_fields["kind"].default: c for c in
            (BuiltinCandidate, ImportCandidate, OnnxCandidate, HfConfigCandidate, HfPretrainedCandidate)}  # fmt: skip


# ---- loading -------------------------------------------------------------------------------------

MAX_CONFIG_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 100_000  # after alias expansion: what validation and hashing will actually walk


def load_yaml(path: str | Path) -> Any:
    """Safe-load a YAML file; every failure is a ConfigError naming the file."""
    import yaml

    from archbench.userfiles import read_user_text

    path = Path(path)
    text = read_user_text(path, "YAML file", max_bytes=MAX_CONFIG_BYTES)
    try:
        data = yaml.load(text, Loader=_bounded_safe_loader())  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        raise ConfigError(path, where, f"invalid YAML: {exc.problem or exc}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise ConfigError(path, "<yaml>", f"invalid YAML: {exc}") from None
    if _expanded_size(data, MAX_NODES) > MAX_NODES:
        raise ConfigError(path, "<yaml>", f"document expands to more than {MAX_NODES} values (alias bomb?)")
    return data


def _expanded_size(data: Any, limit: int) -> int:
    """Count values as a walker would see them (aliases expanded), stopping just past the limit."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


@functools.cache
def _bounded_safe_loader() -> type:
    import yaml

    class BoundedSafeLoader(yaml.SafeLoader):
        """SafeLoader that refuses alias bombs ("billion laughs") by counting alias uses."""

        aliases_seen = 0

        def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
            if self.check_event(yaml.AliasEvent):
                self.aliases_seen += 1
                if self.aliases_seen > MAX_ALIASES:
                    raise yaml.YAMLError(f"more than {MAX_ALIASES} YAML aliases")
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if not isinstance(node, yaml.MappingNode):  # e.g. `!!map [1, 2]`: let SafeLoader say why
                return super().construct_mapping(node, deep=deep)
            keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
            hashable = [k for k in keys if isinstance(k, str | int | float | bool | None)]
            dupes = sorted({str(k) for k in hashable if hashable.count(k) > 1})
            if dupes:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {dupes[0]!r}", node.start_mark
                )
            return super().construct_mapping(node, deep=deep)

    return BoundedSafeLoader


def validate(model: type[Frozen], data: Any, file: str | Path) -> Any:
    """Validate data against a config model; the first problem becomes a one-line ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(file, "<root>", f"expected a mapping of keys, got {type(data).__name__}")
    if model is SweepConfig and "task" in data:  # its spec class depends on its kind: validate it apart
        data = {**data, "task": _validate_task(data["task"], file)}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        key, reason = first_error(exc)
        raise ConfigError(file, key or "<root>", reason) from None
    except RecursionError:
        raise ConfigError(file, "<root>", "nested too deeply") from None


def _validate_task(data: Any, file: str | Path) -> TaskSpecBase:
    from archbench.registry import TASK_KINDS

    if not isinstance(data, dict):
        raise ConfigError(file, "task", f"expected a mapping of keys, got {type(data).__name__}")
    kind = data.get("kind", "digits")
    if not isinstance(kind, str) or kind not in TASK_KINDS:
        raise ConfigError(file, "task.kind", f"{kind!r} is not one of {', '.join(repr(k) for k in TASK_KINDS)}")
    try:
        return validate_task_spec(data)
    except ValidationError as exc:
        key, reason = first_error(exc)
        raise ConfigError(file, f"task.{key}" if key else "task", reason) from None


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(dotted key as the user wrote it, reason) of a validation error's first problem."""
    err = exc.errors(include_url=False)[0]
    loc = err["loc"]
    key = ".".join(str(p) for i, p in enumerate(loc) if not _is_internal(p, loc[i - 1] if i else None))
    reason = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "unknown key"
    elif err["type"] == "missing":
        reason = "required key is missing"
    elif err["type"] == "union_tag_not_found":  # its ctx has no expected_tags: `kind` is simply absent
        key, reason = f"{key}.kind" if key else "kind", "required key is missing"
    elif err["type"] == "union_tag_invalid":
        given = err["ctx"].get("tag", "nothing")
        key, reason = f"{key}.kind" if key else "kind", f"{given!r} is not one of {err['ctx']['expected_tags']}"
    return key, reason


_UNION_TAGS = {"builtin", "import", "onnx", "hf-config", "hf-pretrained"}  # the candidate union's tags
_INTERNAL_LOC = re.compile(r"^(constrained-\w+|literal\[.*\]|function-\w+\[.*\]|int|float|str|bool|list\[.*\])$")


def _is_internal(part: Any, previous: Any) -> bool:
    """Location parts pydantic adds (union tags, union member types) that the user never wrote."""
    if not isinstance(part, str):
        return False
    if part in _UNION_TAGS and isinstance(previous, int):
        return True
    return bool(_INTERNAL_LOC.match(part))


def load_profile(path: str | Path) -> HardwareProfile:
    return validate(HardwareProfile, load_yaml(path), path)


def load_sweep_config(path: str | Path) -> SweepConfig:
    try:
        return _load_sweep_config(path)
    except OSError as exc:  # checking a path the user wrote (too long, unreadable, ...): still one line
        raise ConfigError(path, "<paths>", f"unusable path: {exc.strerror or exc}") from None


def _load_sweep_config(path: str | Path) -> SweepConfig:
    from archbench.registry import task_kind

    config = validate(SweepConfig, load_yaml(path), path)
    base = Path(path).resolve().parent
    candidates = [c.resolve_paths(base, path, f"candidates.{i}") for i, c in enumerate(config.candidates)]
    task = task_kind(config.task.kind).resolve_paths(config.task, base, path)
    return config.model_copy(update={"candidates": candidates, "task": task})


def resolve_user_path(base: Path, ref: str, file: str | Path, key: str, what: str = "data file") -> str:
    """A path from a config file, resolved against the file's folder; it must exist (one-line error).

    what: "directory", "any" (file or directory), or the name of a file kind for the message.
    """
    resolved = Path(ref) if Path(ref).is_absolute() else (base / ref).resolve()
    if not resolved.exists():
        raise ConfigError(file, key, f"no such {'directory' if what == 'directory' else 'file'}: {ref}")
    if what == "directory" and not resolved.is_dir():
        raise ConfigError(file, key, f"is not a directory: {ref}")
    if what not in ("directory", "any") and not resolved.is_file():
        raise ConfigError(file, key, f"is a directory, not a {what}: {ref}")
    return str(resolved)
