"""Re-measure just the chosen models of a finished run at a fixed sample count (`gate --samples N`).

When the gate says its samples can only see large regressions, this takes more, for the chosen
(candidate, variant) per profile alone, through the same build (cached) and measure path as a sweep,
into a run directory of its own beside the original (`<run-id>-samples-<N>`). Only on the machine the
run was measured on: latency is per machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archbench.errors import ConfigError
from archbench.result import Result


def remeasure_chosen(path: Path, meta: dict[str, Any], choices: dict[str, str], profiles: list[str] | None,
                     samples: int) -> list[Result]:  # fmt: skip
    """The run's results with each chosen one replaced by a fixed-count re-measurement."""
    from archbench.cache import Cache
    from archbench.config import HardwareProfile, load_sweep_config
    from archbench.env import collect_environment, machine_fingerprint
    from archbench.gate import parse_choice
    from archbench.report import read_result_json
    from archbench.sweep import Sweep

    run = meta.get("run", {})
    if run.get("machine") != machine_fingerprint(collect_environment()):
        raise ConfigError(path, "run.machine", "--samples re-measures on the machine the run was measured on; "
                          "this is another machine")  # fmt: skip
    source = run.get("candidates_file") or "<default>"
    config_path = Path(__file__).parent / "defaults" / "digits.yaml" if source == "<default>" else Path(source)
    config = load_sweep_config(config_path)
    _, results = read_result_json(path)
    names = profiles or sorted({r.profile for r in results if r.status == "ok"})
    by_key = {r.key: r for r in results}
    for name in names:
        chosen = choices.get(name, choices.get("*"))
        raw = (meta.get("profiles") or {}).get(name)
        if chosen is None or raw is None:
            continue
        cand_name, variant = parse_choice(chosen)
        cand = next((c for c in config.candidates if c.name == cand_name), None)
        if cand is None:
            raise ConfigError(config_path, "candidates", f"no candidate {cand_name!r} (the run's candidates file)")
        profile = HardwareProfile.model_validate(raw)
        # a fixed count with room to take it: the time cap may not cut it short
        m = profile.measure
        measure = m.model_copy(update={"fixed_samples": samples, "max_samples": samples,
                                       "min_samples": min(m.min_samples, samples),
                                       "max_seconds": max(m.max_seconds, 600.0)})  # fmt: skip
        profile = profile.model_copy(update={"measure": measure})
        one = config.model_copy(update={"candidates": [cand.model_copy(update={"variants": [variant]})]})
        run_id = f"{path.parent.name}-samples-{samples}"[:64]
        outcome = Sweep(one, [profile], path.parent.parent, Cache(), run_id=run_id, config_file=str(config_path)).run()
        for r in outcome.results:
            by_key[r.key] = r
    return list(by_key.values())
