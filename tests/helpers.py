"""Small helpers shared by test modules (pytest puts tests/ on sys.path)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest


def run_cli(argv: list[str]) -> int:
    """Parse ``argv`` with `tadfuse.cli.build_parser` and run the command's handler, letting
    exceptions propagate (`tadfuse.cli.main` turns user errors into exit status 2)."""
    from tadfuse.cli import build_parser

    args = build_parser().parse_args(argv)
    return int(args.func(args))


def ensure_config_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give ``tadfuse.config`` its ``load_config``/``PRESETS`` API for the CLI tests.

    A no-op once the real config system is in ``tadfuse.config``. Until then (the config system
    is written on another branch) it installs a minimal stand-in with the same signature, built on
    `PostprocessConfig` (presets ``official``/``paper``; ``postprocess.FIELD=VALUE`` overrides,
    each key once, values read as JSON, else as strings; no files), so that the commands can be
    tested end to end. Delete this function when ``load_config`` has landed.
    """
    import tadfuse.config as config

    if hasattr(config, "load_config"):
        return
    from tadfuse.config import PostprocessConfig
    from tadfuse.errors import ConfigError

    @dataclass(frozen=True)
    class Config:
        preset: str
        postprocess: PostprocessConfig

        def to_dict(self) -> dict[str, Any]:
            return {"preset": self.preset, "postprocess": self.postprocess.to_dict()}

    presets = {"official": PostprocessConfig.official, "paper": PostprocessConfig.paper}

    def load_config(preset: str | None = None, file: Any = None, overrides: Any = ()) -> Config:
        if file is not None:
            raise ConfigError("config files need tadfuse.config.load_config")
        preset = preset or "official"
        if preset not in presets:
            raise ConfigError(f"unknown preset {preset!r}")
        changes: dict[str, Any] = {}
        for o in overrides:
            key, _, value = o.partition("=")
            section, _, name = key.partition(".")
            if section != "postprocess" or name not in PostprocessConfig.__dataclass_fields__:
                raise ConfigError(f"unknown setting {key!r}")
            if name in changes:
                raise ConfigError(f"override `{key}` is given twice")
            try:
                changes[name] = json.loads(value)
            except ValueError:
                changes[name] = value
        try:
            return Config(preset, presets[preset](**changes))
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc)) from None

    monkeypatch.setattr(config, "load_config", load_config, raising=False)
    monkeypatch.setattr(config, "PRESETS", presets, raising=False)
