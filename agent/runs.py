"""Run folders (``runs/<name>/``) and new datasets: made fresh every time, so that no run writes into another's.

A name the user gives must not exist yet (resuming is the way back into a run). A default name carries the time
to the second; two runs started in the same second get ``-2``, ``-3``, ... : the folder is claimed with an exclusive
``mkdir``, which exactly one process wins.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

from agent.config import ConfigError


def timestamp() -> str:
    return f"{datetime.datetime.now():%Y%m%d-%H%M%S}"


def new_run_dir(runs_dir: str | Path, name: str | None, default: str) -> Path:
    """A new, empty folder ``runs_dir/name`` (or ``runs_dir/default``, numbered if taken), created here.

    ``name``: the user's choice, refused when it exists; ``default``: a generated name (with :func:`timestamp`).
    """
    runs_dir = Path(runs_dir)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{runs_dir}: cannot create the runs folder ({exc.strerror})") from None
    if name is not None:
        path = runs_dir / name
        try:
            path.mkdir()
        except FileExistsError:
            raise ConfigError(
                f"{path}: a run of that name exists; resume it (--resume {path}) or choose another --run-name"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot create the run folder ({exc.strerror})") from None
        return path
    for path in numbered(runs_dir, default):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"{path}: cannot create the run folder ({exc.strerror})") from None
        return path
    raise ConfigError(f"{runs_dir}: no free name for {default!r}")


def numbered(folder: Path, stem: str) -> Iterator[Path]:
    """``folder/stem``, then ``stem-2``, ``stem-3``, ...: the names a new run or dataset tries in turn."""
    yield folder / stem
    for n in range(2, 10_000):
        yield folder / f"{stem}-{n}"


def free_path(folder: Path, stem: str) -> Path:
    """The first of :func:`numbered`'s names that nothing has taken yet (its writer claims it: a dataset's
    recorder refuses a folder that another one created meanwhile)."""
    return next(path for path in numbered(folder, stem) if not path.exists())
