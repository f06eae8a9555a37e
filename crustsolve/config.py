"""Run files (TOML) → frozen dataclasses, with validation.

A run-file schema is a tree of frozen dataclasses whose fields carry type hints
(``int``, ``float``, ``str``, ``bool``, ``tuple[float, ...]``, ``Optional[...]``,
``Literal[...]``, nested dataclasses, ``dict[str, str]`` for PETSc option sections).
:func:`from_dict` maps a parsed TOML table onto the schema:

* unknown keys are errors naming the dotted key and listing the allowed ones;
* wrong types are errors naming the key, the expected and the given type;
* missing keys take the dataclass default (a field without default is required);
* range checks live in each dataclass's ``__post_init__`` (raise ``InputError``);
  they are re-raised as :class:`~crustsolve.errors.ConfigError` with the key path.

In parallel, :func:`read_toml` / :func:`load_toml` read the file on rank 0 and broadcast
the text, so every rank parses the same bytes and raises (or not) identically; a file that
is not UTF-8 is a :class:`ConfigError` naming the line.
"""
from __future__ import annotations

import dataclasses
import typing

from .errors import ConfigError, InputError
from .parallel import on_root

try:  # Python ≥ 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.9/3.10
    import tomli as _toml  # type: ignore[no-redef]

_TYPE_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _type_name(tp) -> str:
    return _TYPE_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(value, tp, key: str):
    """Convert/check one TOML value against the type hint ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is typing.Any:
        return value
    if origin is typing.Union:  # Optional[X] and unions
        if value is None and type(None) in args:
            return None
        errors = []
        for alt in args:
            if alt is type(None):
                continue
            try:
                return _convert(value, alt, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: value {value!r} matches none of the allowed types "
                          f"({', '.join(_type_name(a) for a in args)})")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key} = {value!r} is not one of: {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table ([{key}]), got {type(value).__name__}")
        return from_dict(tp, value, prefix=key)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be an array, got {type(value).__name__} {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{key} must have {len(args)} elements, got {len(value)}")
            return tuple(_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(args, value)))
        item = args[0] if args else typing.Any
        return tuple(_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table, got {type(value).__name__}")
        ktp, vtp = args if args else (str, typing.Any)
        return {_convert(k, ktp, f"{key}.{k}"): _convert(v, vtp, f"{key}.{k}")
                for k, v in value.items()}
    if tp is float:
        # TOML integers are accepted for floats; booleans are not numbers here.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {type(value).__name__} {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {type(value).__name__} {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ConfigError(f"{key} must be a {_type_name(tp)}, got "
                              f"{type(value).__name__} {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported schema type {tp!r}")  # schema bug


def from_dict(cls, data: dict, prefix: str = ""):
    """Build the frozen dataclass ``cls`` from a (TOML) dict; see module docstring."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'run file'} must be a table, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f" in [{prefix}]" if prefix else ""
        raise ConfigError(f"unknown key(s) {', '.join(repr(u) for u in unknown)}{where}; "
                          f"allowed: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, field in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], key)
        elif (field.default is dataclasses.MISSING
              and field.default_factory is dataclasses.MISSING):  # type: ignore[misc]
            raise ConfigError(f"required key {key!r} is missing")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except InputError as exc:
        raise ConfigError(f"[{prefix}] {exc}" if prefix else str(exc)) from None


def to_dict(obj) -> dict:
    """The fully resolved configuration as plain Python (for logs and HDF5)."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            v = to_dict(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def parse_toml_text(text: str, source: str = "<string>") -> dict:
    try:
        return _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def _read_text(path) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read run file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"run file {str(path)!r} is not UTF-8 text (TOML requires UTF-8): "
                          f"byte 0x{raw[exc.start]:02x} on line {line}") from None


def read_toml(path, comm=None) -> dict:
    """Parse a TOML run file into a dict (collective: rank 0 reads, every rank parses the
    same text, so every rank returns or raises the same :class:`ConfigError`)."""
    text = on_root(comm, _read_text, path)
    return parse_toml_text(text, str(path))


def load_toml(path, cls, comm=None):
    """Read a TOML run file into ``cls``; rank 0 reads, all ranks parse the same text."""
    return from_dict(cls, read_toml(path, comm))


def merge(base: dict, override: dict) -> dict:
    """Recursive dict merge (``override`` wins): presets < run file < command line."""
    out = dict(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out
