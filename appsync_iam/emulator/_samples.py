"""Finding schemas: the bundled samples and ``schema`` arguments (path or SDL)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["available_samples", "load_schema_text", "sample_schema_path"]

_SUFFIX = ".graphql"


def _sample_dirs() -> list[Path]:
    here = Path(__file__).resolve()
    # Installed wheel: pyproject force-includes schema_samples/ here.
    # Dev checkout: <repo>/schema_samples.
    return [here.parent / "schema_samples", here.parents[2] / "schema_samples"]


def available_samples() -> list[str]:
    """The names of the bundled sample schemas (``["chat", "todos"]``)."""
    names: set[str] = set()
    for directory in _sample_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob(f"*{_SUFFIX}"))
    return sorted(names)


def sample_schema_path(name: str) -> Path:
    """The path of the bundled sample schema ``name`` (``"chat"``, ``"todos.graphql"``).

    Raises :class:`FileNotFoundError` naming the available samples otherwise.
    """
    stem = name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else name
    if stem and "/" not in stem and "\\" not in stem and stem not in (".", ".."):
        for directory in _sample_dirs():
            candidate = directory / f"{stem}{_SUFFIX}"
            if candidate.is_file():
                return candidate
    available = ", ".join(available_samples()) or "none found"
    raise FileNotFoundError(
        f"no sample schema named {name!r}; available samples: {available}"
    )


def _looks_like_sdl(text: str) -> bool:
    return ("{" in text or "\n" in text) and any(
        word in text for word in ("type ", "schema", "scalar ", "directive ")
    )


def load_schema_text(schema: str | os.PathLike[str]) -> str:
    """The SDL text of ``schema``: a path to an SDL file, or SDL text itself.

    A string is read as a file when such a file exists, taken as SDL when it
    looks like SDL (``type ``/``schema`` with a brace or a newline), and
    otherwise tried as a sample name (``"chat"``). Raises
    :class:`FileNotFoundError` when it is none of these.
    """
    if isinstance(schema, os.PathLike):
        return Path(schema).read_text(encoding="utf-8")
    if not isinstance(schema, str):
        raise TypeError(
            f"schema must be a path or SDL text, not {type(schema).__name__}"
        )
    if "\n" not in schema and "{" not in schema:
        try:
            path = Path(schema).expanduser()
            is_file = path.is_file()
        except (OSError, ValueError):
            is_file = False
        if is_file:
            return path.read_text(encoding="utf-8")
    if _looks_like_sdl(schema):
        return schema
    try:
        return sample_schema_path(schema).read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    raise FileNotFoundError(
        f"schema {schema!r} is neither an existing SDL file nor SDL text;"
        f" bundled samples: {', '.join(available_samples()) or 'none found'}"
    )
