"""Settings per source: a TOML file, then command-line overrides.

    # modelcat.toml
    [hf]
    authors = ["google", "timm"]
    min_downloads = 100

The file is `--config PATH`, else $MODELCAT_CONFIG, else ./modelcat.toml when it exists. Each
source declares its settings (Source.settings); anything else is an error that names the fix.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Any

from .errors import ModelcatError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_NAME = "modelcat.toml"


class ConfigError(ModelcatError):
    """The configuration file or an override is wrong."""


def config_path(explicit: str | os.PathLike | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("MODELCAT_CONFIG")
    if env:
        return Path(env)
    default = Path(DEFAULT_NAME)
    return default if default.is_file() else None


def load_config(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """{source name: settings}, validated against what each source declares."""
    path = config_path(path)
    if path is None:
        return {}
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (pass --config with an existing file)") from None
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    return validate(data, where=str(path))


def validate(data: dict, where: str = "config") -> dict[str, dict[str, Any]]:
    from .sources import get_source, source_names

    out: dict[str, dict[str, Any]] = {}
    for name, section in data.items():
        if name not in source_names():
            raise ConfigError(f"{where}: unknown section [{name}]{_close(name, source_names())}: "
                              f"sections are source names ({', '.join(source_names())})")
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: [{name}] must be a table of settings")
        declared = get_source(name).settings
        settings = {}
        for key, value in section.items():
            if key not in declared:
                known = ", ".join(declared) or "none"
                raise ConfigError(f"{where}: [{name}] has no setting {key!r}{_close(key, declared)} "
                                  f"(settings: {known})")
            settings[key] = coerce(name, key, value, declared[key][0], where)
        out[name] = settings
    return out


def with_overrides(config: dict[str, dict[str, Any]], source: str, values: dict[str, Any],
                   where: str = "command line") -> dict[str, dict[str, Any]]:
    """The config with a source's settings replaced by these (None: not given), each checked as
    the config file's are (`modelcat refresh --hf-author ...`)."""
    from .sources import get_source

    declared = get_source(source).settings
    settings = dict(config.get(source) or {})
    for key, value in values.items():
        if value is not None:
            settings[key] = coerce(source, key, value, declared[key][0], where)
    return {**config, source: settings}


def coerce(source: str, key: str, value: Any, kind: type, where: str = "config") -> Any:
    """Check (and gently convert, for command-line strings) one setting's value."""
    what = f"{where}: {source}.{key}"
    if kind is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{what} must be a list of names, e.g. [\"google\", \"timm\"]")
        return [v.strip() for v in value]
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{what} must be true or false")
        return value
    if kind in (int, float):
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{what} must be a number, not {value!r}") from None
        if isinstance(value, bool) or number < 0:
            raise ConfigError(f"{what} must be a number >= 0, not {value!r}")
        return number
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be a string")
    return value


def _close(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
