"""maintbot's configuration: ``.github/maintbot.yml`` validated into typed, frozen objects."""

from bot.config.loader import decode_config_bytes, load_config, parse_config
from bot.config.remote import fetch_repo_config
from bot.config.schema import (
    CONFIG_VERSION,
    REPO_CONFIG_PATH,
    BenchConfig,
    BenchThresholds,
    BusinessHours,
    Config,
    DuplicatesConfig,
    GitHubConfig,
    LabelsConfig,
    LabelStyle,
    MissingInfoConfig,
    ReportConfig,
    TriageConfig,
)

__all__ = [
    "CONFIG_VERSION",
    "REPO_CONFIG_PATH",
    "BenchConfig",
    "BenchThresholds",
    "BusinessHours",
    "Config",
    "DuplicatesConfig",
    "GitHubConfig",
    "LabelStyle",
    "LabelsConfig",
    "MissingInfoConfig",
    "ReportConfig",
    "TriageConfig",
    "decode_config_bytes",
    "fetch_repo_config",
    "load_config",
    "parse_config",
]
