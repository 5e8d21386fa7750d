"""Reading a number a game draws on its screen, with glyph templates learned from the game's own font.

Universe read scores with OCR on its server. A game draws its score in one font at one size, so templates of
that font are enough and cost a fraction of a millisecond per read: binarise the region (Otsu), cut it into
glyphs left to right (connected components; parts sharing most of their columns are one glyph), scale each
glyph's box into a square patch that keeps its aspect (so '-' stays a thin bar), and take the template with
the best normalised correlation. Templates come from (region image, number shown) pairs of the game itself,
so an antialiased TrueType font (gymnasium's CarRacing) and a bitmap font are learned the same way.

Numbers are integers, optionally signed and zero-padded ("0042", "-007"); the region must hold the number
and nothing else, and glyphs must not touch each other.
"""

from __future__ import annotations

import re
import time
import zipfile
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from capture.errors import PixelpilotError
from capture.preprocess import Crop
from capture.reward import RewardReading

GLYPH_CHARS = "0123456789-"
PATCH = 20  # side of a glyph patch: enough for a 42 px TrueType digit and for a 5x7 bitmap one
MIN_CONTRAST = 40  # grey levels between the darkest and brightest pixel below which a region holds no text
MIN_PART = 0.05  # components smaller than this fraction of the largest one are specks, not glyph parts
DEFAULT_MIN_SCORE = 0.8
FORMAT_VERSION = 1
_NUMBER = re.compile(r"-?[0-9]+")


class DigitsError(PixelpilotError):
    """A glyph file that cannot be used, samples that teach nothing, or a region outside the window."""


def to_gray(image: np.ndarray) -> np.ndarray:
    """A uint8 grey image from a grey, BGR or BGRA uint8 image (window grabs are BGRA)."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a non-empty uint8 image, got {image.dtype} {image.shape}")
    if image.ndim == 2:
        return image
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    raise ValueError(f"expected 1, 3 or 4 channels, got {image.shape}")


def glyph_patches(image: np.ndarray, light_text: bool, size: int = PATCH) -> list[np.ndarray]:
    """The glyphs in ``image`` left to right, each a ``size`` x ``size`` float32 patch in [0, 1] (1 = ink).

    A region without enough contrast has no glyphs. Ink brightness is rescaled between the region's
    paper and ink levels, so a dimmer or recoloured HUD still matches its templates.
    """
    gray = to_gray(image)
    if int(gray.max()) - int(gray.min()) < MIN_CONTRAST:
        return []
    mode = (cv2.THRESH_BINARY if light_text else cv2.THRESH_BINARY_INV) | cv2.THRESH_OTSU
    _, mask = cv2.threshold(gray, 0, 255, mode)
    ink = mask > 0
    ink_level, paper_level = float(gray[ink].mean()), float(gray[~ink].mean())
    intensity = np.clip((gray.astype(np.float32) - paper_level) / (ink_level - paper_level), 0.0, 1.0)

    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return []
    parts = stats[1:count]
    parts = parts[parts[:, cv2.CC_STAT_AREA] >= max(2.0, MIN_PART * parts[:, cv2.CC_STAT_AREA].max())]
    boxes: list[list[int]] = []  # x0, x1, y0, y1 of glyphs; parts that share most of their columns merge
    for x, y, w, h, _ in sorted(parts.tolist()):
        if boxes and min(boxes[-1][1], x + w) - x > 0.5 * min(boxes[-1][1] - boxes[-1][0], w):
            box = boxes[-1]
            box[1], box[2], box[3] = max(box[1], x + w), min(box[2], y), max(box[3], y + h)
        else:
            boxes.append([x, x + w, y, y + h])
    patches = []
    for x0, x1, y0, y1 in boxes:
        width, height = x1 - x0, y1 - y0
        side = max(height, width)
        canvas = np.zeros((side, side), np.float32)
        row, col = (side - height) // 2, (side - width) // 2
        canvas[row : row + height, col : col + width] = intensity[y0:y1, x0:x1]
        patches.append(cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA))
    return patches


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows minus their mean, scaled to length 1 (all-zero rows stay zero): dot products are correlations."""
    centred = vectors - vectors.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    return centred / np.where(norm > 1e-6, norm, 1.0)


def _label_text(label: str | int, glyphs: int) -> str:
    """The characters a sample's label says are drawn; an int label may be zero-padded to the glyph count."""
    if isinstance(label, bool) or not isinstance(label, str | int):
        raise ValueError(f"a label must be the number drawn (an int or a string like '0042'), got {label!r}")
    if isinstance(label, int):
        return format(label, f"0{glyphs}d") if glyphs > len(str(label)) else str(label)
    if not _NUMBER.fullmatch(label):
        raise ValueError(f"a label must be the number drawn (digits, optionally after '-'), got {label!r}")
    return label


@dataclass(frozen=True)
class FitReport:
    """What learning the glyphs saw: how many samples taught something and how well they read back."""

    samples: int
    used: int  # samples cut into as many glyphs as their label has characters
    counts: dict[str, int]  # glyph examples per character
    missing: str  # digits never seen: numbers with them cannot be read
    accuracy: float  # fraction of all samples the learned reader reads correctly


class DigitReader:
    """Reads an integer from a small image with one template per character (digits and '-').

    ``read`` returns None when unsure: no glyphs, a glyph whose best correlation is below ``min_score``,
    or characters that do not form a number.
    """

    def __init__(
        self, templates: Mapping[str, np.ndarray], light_text: bool, min_score: float = DEFAULT_MIN_SCORE
    ) -> None:
        """
        Args:
            templates: character → square patch (ink = high values); all the same shape.
            light_text: True for light text on a darker background, False for dark text on a lighter one.
            min_score: the lowest correlation (in (0, 1)) a glyph may have with its template to be read.
        """
        if not templates:
            raise ValueError("no templates")
        bad = [c for c in templates if len(c) != 1 or c not in GLYPH_CHARS]
        if bad:
            raise ValueError(f"template characters must be in {GLYPH_CHARS!r}, got {bad[0]!r}")
        if not any(c.isdigit() for c in templates):
            raise ValueError(f"templates need at least one digit, got {''.join(templates)!r}")
        shapes = {np.shape(t) for t in templates.values()}
        shape = next(iter(shapes))
        if len(shapes) != 1 or len(shape) != 2 or shape[0] != shape[1] or shape[0] < 4:
            raise ValueError(f"templates must be square patches of one size (at least 4x4), got {sorted(shapes)}")
        if not 0 < min_score < 1:
            raise ValueError(f"min_score must be in (0, 1), got {min_score!r}")
        self.chars = "".join(templates)
        self.patches = np.stack([np.asarray(t, np.float32) for t in templates.values()])
        self.light_text = light_text
        self.min_score = min_score
        self._unit = _unit(self.patches.reshape(len(self.chars), -1))

    @property
    def size(self) -> int:
        return self.patches.shape[1]

    def classify(self, region: np.ndarray) -> list[tuple[str, float]]:
        """Each glyph in ``region``, left to right, as (best character, its correlation)."""
        patches = glyph_patches(region, self.light_text, self.size)
        if not patches:
            return []
        scores = _unit(np.stack(patches).reshape(len(patches), -1)) @ self._unit.T
        best = scores.argmax(axis=1)
        return [(self.chars[b], float(s[b])) for b, s in zip(best, scores, strict=True)]

    def read_text(self, region: np.ndarray) -> str | None:
        """The characters drawn in ``region`` (e.g. '-007'), or None when unsure."""
        glyphs = self.classify(region)
        if not glyphs or min(score for _, score in glyphs) < self.min_score:
            return None
        text = "".join(char for char, _ in glyphs)
        return text if _NUMBER.fullmatch(text) else None

    def read(self, region: np.ndarray) -> int | None:
        """The number drawn in ``region`` (grey, BGR or BGRA uint8), or None when unsure."""
        text = self.read_text(region)
        return None if text is None else int(text)

    @classmethod
    def fit(
        cls, samples: Iterable[tuple[np.ndarray, str | int]], min_score: float = DEFAULT_MIN_SCORE
    ) -> tuple[DigitReader, FitReport]:
        """Learn templates from (region image, number drawn) pairs of the game's own rendering.

        A label is what is drawn: '0042' for a zero-padded 42 (an int label is padded to the glyph count,
        so give strings where the game draws '-000' or similar). Samples whose glyph count differs from the
        label's length teach nothing and are skipped. Both text polarities are tried; the one that cuts
        more samples into the right number of glyphs wins. Each template is the mean of its glyphs.
        """
        pairs = list(samples)
        for _, label in pairs:
            _label_text(label, 0)
        best: tuple[int, bool, dict[str, list[np.ndarray]]] | None = None
        for light_text in (True, False):
            examples: dict[str, list[np.ndarray]] = {}
            used = 0
            for image, label in pairs:
                patches = glyph_patches(image, light_text)
                text = _label_text(label, len(patches))
                if patches and len(text) == len(patches):
                    used += 1
                    for char, patch in zip(text, patches, strict=True):
                        examples.setdefault(char, []).append(patch)
            if best is None or used > best[0]:
                best = (used, light_text, examples)
        assert best is not None
        used, light_text, examples = best
        if not used:
            raise DigitsError(
                f"none of the {len(pairs)} samples could be cut into as many glyphs as their label has "
                "characters: check that the region holds the number and nothing else"
            )
        templates = {c: np.mean(examples[c], axis=0) for c in GLYPH_CHARS if c in examples}
        reader = cls(templates, light_text, min_score)
        correct = sum(reader.read(image) == int(label) for image, label in pairs)
        report = FitReport(
            samples=len(pairs),
            used=used,
            counts={c: len(examples[c]) for c in templates},
            missing="".join(c for c in GLYPH_CHARS if c.isdigit() and c not in templates),
            accuracy=correct / len(pairs),
        )
        return reader, report

    def save(self, path: str | Path) -> None:
        """Write the templates as a small compressed .npz (uint8 patches)."""
        path = Path(path)
        try:
            with path.open("wb") as f:
                np.savez_compressed(
                    f,
                    version=np.int64(FORMAT_VERSION),
                    chars=np.array(list(self.chars)),
                    templates=np.rint(np.clip(self.patches, 0, 1) * 255).astype(np.uint8),
                    light_text=np.bool_(self.light_text),
                )
        except OSError as exc:
            raise DigitsError(f"{path}: cannot write the glyph file: {exc.strerror}") from None

    @classmethod
    def load(cls, path: str | Path, min_score: float = DEFAULT_MIN_SCORE) -> DigitReader:
        """Read a glyph file written by :meth:`save`; anything else is a DigitsError naming the file."""
        path = Path(path)
        try:
            data = np.load(path, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise DigitsError(f"{path}: not a glyph file (expected an .npz archive)")
            with data:
                fields = {name: data[name] for name in data.files}
        except FileNotFoundError:
            raise DigitsError(f"{path}: no such glyph file (learn one with: pixelpilot digits learn)") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DigitsError(f"{path}: not a glyph file ({exc})") from None
        return cls._from_fields(path, fields, min_score)

    @classmethod
    def _from_fields(cls, path: Path, fields: dict[str, np.ndarray], min_score: float) -> DigitReader:
        missing = {"version", "chars", "templates", "light_text"} - set(fields)
        if missing:
            raise DigitsError(f"{path}: not a glyph file (no {', '.join(sorted(missing))})")
        version, chars, templates, light = (fields[k] for k in ("version", "chars", "templates", "light_text"))
        if version.shape != () or version.dtype.kind not in "iu":
            raise DigitsError(f"{path}: not a glyph file (version must be an integer)")
        if int(version) != FORMAT_VERSION:
            raise DigitsError(
                f"{path}: glyph file version {int(version)}; this pixelpilot reads version {FORMAT_VERSION}"
            )
        if chars.dtype.kind != "U" or chars.ndim != 1 or len(set(chars.tolist())) != len(chars):
            raise DigitsError(f"{path}: not a glyph file (chars must be distinct characters)")
        if templates.dtype != np.uint8 or templates.ndim != 3 or templates.shape[0] != len(chars):
            raise DigitsError(f"{path}: not a glyph file (templates must be uint8, one patch per character)")
        if light.shape != () or light.dtype != np.bool_:
            raise DigitsError(f"{path}: not a glyph file (light_text must be true or false)")
        try:
            return cls(
                {str(c): t.astype(np.float32) / 255.0 for c, t in zip(chars, templates, strict=True)},
                bool(light),
                min_score,
            )
        except ValueError as exc:
            raise DigitsError(f"{path}: not a glyph file ({exc})") from None


class DigitsReward:
    """Reward = ``scale`` × change in a number read from a region of the window (e.g. the game's score).

    Debounce: the number used is the median of the last three good reads, so one misread frame never moves
    it, while a counter that changes every frame is followed one poll late (the median of three rising
    reads is the middle one). Rewards telescope: over an episode they add up to the last accepted number
    minus the first. The first three good reads after a reset set that baseline and earn nothing.
    Unreadable frames earn 0, keep the last accepted number and are counted (``info["read_failures"]``).

    A game's reset keys take effect a few frames late, so after a reset that expects a new episode
    ``ready()`` stays false for ``settle_seconds``: the old episode's score must not become the baseline.
    ``done`` is always False: a number alone does not say that an episode ended.
    """

    def __init__(self, reader: DigitReader, region: Crop, scale: float = 1.0, settle_seconds: float = 0.5) -> None:
        if not np.isfinite(scale) or scale == 0:
            raise ValueError(f"reward scale must be a finite non-zero number, got {scale!r}")
        if not (np.isfinite(settle_seconds) and settle_seconds >= 0):
            raise ValueError(f"settle_seconds must be a number >= 0, got {settle_seconds!r}")
        self.reader = reader
        self.region = region
        self.scale = scale
        self.settle_seconds = settle_seconds
        self.reads = 0
        self.failures = 0
        self._history: deque[int] = deque(maxlen=3)
        self._number: int | None = None
        self._ready_at = 0.0

    def reset(self, expect_new_episode: bool) -> None:
        self._history.clear()
        self._number = None
        self._ready_at = time.monotonic() + (self.settle_seconds if expect_new_episode else 0.0)

    def ready(self) -> bool:
        return time.monotonic() >= self._ready_at

    def poll(self, frame: np.ndarray) -> RewardReading:
        r = self.region
        if frame.ndim < 2 or r.top + r.height > frame.shape[0] or r.left + r.width > frame.shape[1]:
            raise DigitsError(
                f"digits region (top={r.top}, left={r.left}, height={r.height}, width={r.width}) reaches "
                f"outside the {frame.shape[1] if frame.ndim > 1 else 0}x{frame.shape[0]} window"
            )
        value = self.reader.read(r.cut(frame))
        self.reads += 1
        reward = 0.0
        if value is None:
            self.failures += 1
        else:
            self._history.append(value)
            if len(self._history) == self._history.maxlen:
                median = sorted(self._history)[1]
                if self._number is not None:
                    reward = self.scale * (median - self._number)
                self._number = median
        info = {"digits": value, "number": self._number, "reads": self.reads, "read_failures": self.failures}
        return RewardReading(reward, False, info)

    def close(self) -> None:
        pass
