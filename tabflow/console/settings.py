"""Config settings as command-line flags: `--<name>` for every setting of the sections a
subcommand reads, parsed into `cfg_<name>` for tabflow.config.from_sources."""
import argparse
from typing import Mapping, Optional, Sequence

from tabflow import config as config_lib
from tabflow.redaction import MYSQL_PASSWORD_VARIABLE

# Every section: for the commands that build or print the whole pipeline.
ALL = tuple(config_lib.SECTIONS)


class _RefusePasswordFlag(argparse.Action):
    """--mysql-password is refused: a command line is visible to every user in `ps`."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.exit(2, f"ERROR: {option_string} is not accepted (a command line is visible to "
                       f"other users in ps): put the password in a file named by "
                       f"--mysql-password-file, or in the environment variable "
                       f"{MYSQL_PASSWORD_VARIABLE}\n")


def add_config_arguments(parser: argparse.ArgumentParser, sections: Sequence[str] = ALL) -> None:
    """Flags for the top-level settings and those of `sections`, one help group each."""
    unknown = set(sections) - set(config_lib.SECTIONS)
    assert not unknown, f"no config section {sorted(unknown)}"
    groups = [(None, "pipeline settings (also TABFLOW_<NAME> env variables; TAXI_<NAME> "
                     "still read)")]
    groups += [(name, f"{name} settings") for name in config_lib.SECTIONS if name in sections]
    for section, title in groups:
        group = parser.add_argument_group(title)
        for name in config_lib.section_fields(section):
            group.add_argument(config_lib.flag(name), dest=f"cfg_{name}",
                               metavar=config_lib.field_type(name).upper(), default=None,
                               help=f"default: {config_lib.field_default(name)}")
        if section == "store":
            group.add_argument("--mysql-password", action=_RefusePasswordFlag,
                               help=argparse.SUPPRESS)


def parse_config(argv: Sequence[str], environ: Optional[Mapping[str, str]] = None,
                 sections: Sequence[str] = ALL) -> config_lib.PipelineConfig:
    """A config from flags (only those of `sections`) over TABFLOW_* variables and defaults."""
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, sections)
    return config_lib.from_sources(parser.parse_args(list(argv)), environ)


def open_store(args):
    """(config, read-only MetadataStore of its store section); StoreError when there is no
    store to read."""
    from tabflow.metadata.store import open_store as open_metadata_store
    config = config_lib.from_sources(args)
    return config, open_metadata_store(config.store)


def given_settings(args) -> dict:
    """{flat name: raw text} of the config flags given on this command line, for a process
    that reads the configuration again (an orchestrator's run)."""
    return {name: getattr(args, f"cfg_{name}") for name in config_lib.FIELDS
            if getattr(args, f"cfg_{name}", None) is not None}
