"""Image classification from a folder per class: PNG/JPEG read with Pillow, resized, scaled to [0, 1].

Layout: `train_dir/<class>/*.png|*.jpg|*.jpeg` (subfolders of a class folder count for it; other files
are skipped and counted). A `test_dir` with the same layout, or none: then train_dir is split with a
seed, stratified by class. Every image is turned upright (EXIF orientation), converted to grey
(`channels: 1`) or RGB (`channels: 3`), resized to `image_size: [height, width]` (bilinear, aspect
ratio not kept) and scaled to [0, 1]: samples of shape (C, H, W), float32. An unreadable image is an
error naming its path.

Default slices: one per class (`class-<label>`), and brightness quartiles of the test set
(`brightness-q1` darkest ... `brightness-q4` brightest): test images ranked by mean pixel value over all
channels after resizing, cut into four groups of (nearly) equal size; the cut points are in the info.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from archbench.config import TaskSpecBase
from archbench.errors import ConfigError
from archbench.rowids import record_row_ids
from archbench.tasks.base import TaskData, TaskKind
from archbench.tasks.classes import class_slices, encode_labels, split_indices

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
Side = Annotated[int, Field(ge=1, le=4096)]


class ImagesTaskSpec(TaskSpecBase):
    kind: Literal["images"] = "images"
    train_dir: str = Field(min_length=1, description="one folder per class")
    test_dir: str | None = Field(None, description="absent: split train_dir with seed and test_fraction")
    image_size: list[Side] = Field(default_factory=lambda: [32, 32], min_length=2, max_length=2,
                                   description="[height, width] every image is resized to")  # fmt: skip
    channels: Literal[1, 3] = Field(3, description="1: grey, 3: RGB")
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)


class ImagesTask(TaskKind):
    name = "images"
    Spec = ImagesTaskSpec
    path_keys: ClassVar[dict[str, str]] = {"train_dir": "directory", "test_dir": "directory"}

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        return load_images_task(spec)


def load_images_task(spec: Any) -> TaskData:
    train_dir = Path(spec.train_dir)
    files, labels, skipped = list_images(train_dir, "task.train_dir")
    if spec.test_dir is not None:
        test_dir = Path(spec.test_dir)
        test_files, test_labels, test_skipped = list_images(test_dir, "task.test_dir")
        skipped += test_skipped
        train_files, train_labels = files, labels
    else:
        test_dir = train_dir
        tr, te = split_indices(labels, spec.test_fraction, spec.seed)
        train_files, train_labels = [files[i] for i in tr], [labels[i] for i in tr]
        test_files, test_labels = [files[i] for i in te], [labels[i] for i in te]
    names, y_train, y_test = encode_labels(train_labels, test_labels, train_dir, test_dir,
                                           lambda i: str(test_files[i].relative_to(test_dir)))  # fmt: skip
    height, width = spec.image_size
    x_train = read_images(train_files, height, width, spec.channels)
    x_test = read_images(test_files, height, width, spec.channels)
    slices = class_slices(y_test, names)
    quartiles, cuts = brightness_slices(x_test)
    slices.update(quartiles)
    info = {
        "source": [train_dir.name] + ([test_dir.name] if spec.test_dir else []), "labels": names,
        "image_size": [height, width], "channels": spec.channels, "scale": "[0, 1]",
        "split": "folders" if spec.test_dir else f"stratified {spec.test_fraction:g} of train_dir, seed {spec.seed}",
        "skipped_files": skipped,
        "slices": "default: one per class (class-<label>); brightness-q1..q4: test-set quartiles of mean pixel "
                  "value (q1 darkest)",
        "brightness_cuts": cuts,
    }  # fmt: skip
    # each image's path relative to its folder (train_dir, or test_dir for the test images when given)
    record_row_ids(info, train=[p.relative_to(train_dir).as_posix() for p in train_files],
                   test=[p.relative_to(test_dir).as_posix() for p in test_files])  # fmt: skip
    return TaskData(f"images:{train_dir.name}", "tensor", len(names), x_train, y_train, x_test, y_test, slices, info)


def list_images(root: Path, key: str) -> tuple[list[Path], list[str], int]:
    """(image files, their class names, files skipped) under root/<class>/; sorted, so loads repeat."""
    stray = [p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if stray:
        raise ConfigError(stray[0], key, "images must sit in one folder per class (root/<class>/image.png)")
    files, labels, skipped = [], [], 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = 0
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                skipped += 1
                continue
            files.append(path)
            labels.append(folder.name)
            found += 1
        if not found:
            raise ConfigError(folder, key, f"class folder {folder.name!r} holds no PNG or JPEG image")
    if not files:
        raise ConfigError(root, key, "no class folders with images (expected root/<class>/image.png)")
    return files, labels, skipped


def read_images(paths: list[Path], height: int, width: int, channels: int) -> np.ndarray:
    out = np.empty((len(paths), channels, height, width), dtype=np.float32)
    for i, path in enumerate(paths):
        out[i] = read_image(path, height, width, channels)
    return out


def read_image(path: Path, height: int, width: int, channels: int) -> np.ndarray:
    """One image as (C, H, W) float32 in [0, 1]; any failure names the file."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            img = img.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32) / 255.0
    except Exception as exc:  # Pillow raises many types (UnidentifiedImageError, OSError, DecompressionBomb...)
        raise ConfigError(path, "<image>", f"unreadable image: {type(exc).__name__}: {exc}") from None
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def brightness_slices(x: np.ndarray) -> tuple[dict[str, np.ndarray], list[float]]:
    """Test images in four rank groups of mean pixel value (see the module docstring), and the cut values."""
    brightness = x.reshape(len(x), -1).mean(axis=1)
    order = np.argsort(brightness, kind="stable")
    groups = np.array_split(order, 4)
    slices = {f"brightness-q{q + 1}": np.sort(g) for q, g in enumerate(groups) if len(g)}
    # unrounded: a new batch is cut with these same values (archbench check), so a test image must land
    # in the same quartile again
    cuts = [float(brightness[g[-1]]) for g in groups[:-1] if len(g)]
    return slices, cuts
