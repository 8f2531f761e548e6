"""Settings from modelcat.toml and the command line."""

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.config import ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "modelcat.toml"
    path.write_text(text)
    return path


def test_a_valid_file(tmp_path):
    path = write(tmp_path, '[hf]\nauthors = ["google", "timm"]\nmin_downloads = 100\nfull_sweep_days = 3.5\n')
    assert load_config(path) == {"hf": {"authors": ["google", "timm"], "min_downloads": 100, "full_sweep_days": 3.5}}


def test_the_default_file_is_found_in_the_working_directory(tmp_path, monkeypatch):
    write(tmp_path, '[hf]\nlibraries = "timm"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELCAT_CONFIG", raising=False)
    assert load_config() == {"hf": {"libraries": ["timm"]}}
    monkeypatch.setenv("MODELCAT_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config()


def test_no_file_no_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELCAT_CONFIG", raising=False)
    assert load_config() == {}


@pytest.mark.parametrize("text, message", [
    ("[hugging]\nauthors = []\n", "unknown section [hugging]"),
    ("[hf]\nauthor = ['google']\n", "no setting 'author' (did you mean 'authors'?)"),
    ("[hf]\nmin_downloads = 'lots'\n", "hf.min_downloads must be a number"),
    ("[hf]\nmin_downloads = -1\n", "must be a number >= 0"),
    ("[hf]\nauthors = [1, 2]\n", "must be a list of names"),
    ("[hf]\ninclude_private = 'maybe'\n", "must be true or false"),
    ("[hf\n", "cannot read config file"),
    ("hf = 3\n", "[hf] must be a table"),
])
def test_bad_files_name_the_fix(tmp_path, text, message):
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    assert message in str(e.value)


def test_a_bad_config_is_a_one_line_cli_error(tmp_path):
    path = write(tmp_path, "[hf]\nauthor = ['google']\n")
    result = CliRunner().invoke(cli, ["refresh", "--db", str(tmp_path / "c.db"), "--config", str(path)])
    assert result.exit_code == 1 and "did you mean 'authors'" in result.output
    assert not (tmp_path / "c.db").exists()


def test_command_line_filters_override_the_file(tmp_path, monkeypatch, list_source):
    """--hf-* options replace the file's settings; what reaches the source is the merge."""
    from indexer.sources import register_source
    from indexer.sources.hf import HubSource

    seen = {}

    class Spy(HubSource):
        def fetch(self, ctx):
            seen.update(ctx.config)
            return iter(())

    register_source("hf", Spy)
    try:
        path = write(tmp_path, '[hf]\nauthors = ["google"]\nmin_downloads = 5\n')
        result = CliRunner().invoke(cli, ["refresh", "--db", str(tmp_path / "c.db"), "--config", str(path),
                                          "--source", "hf", "--hf-author", "timm", "--hf-author", "facebook",
                                          "--hf-library", "timm", "--full"])
        assert result.exit_code == 0, result.output
    finally:
        from indexer.sources import unregister_source

        unregister_source("hf")
    assert seen == {"authors": ["timm", "facebook"], "libraries": ["timm"], "min_downloads": 5, "full": True}


def test_the_readme_settings_file_is_valid_and_names_every_setting(tmp_path):
    """The example modelcat.toml of docs/commands.md loads as written, and documents every setting a source
    declares (per-run switches such as hf's `full` are command-line options)."""
    import re
    from pathlib import Path

    from indexer.sources import get_source, source_names

    readme = (Path(__file__).parent.parent / "docs" / "commands.md").read_text()
    block = re.search(r"#### Settings file.*?```toml\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "modelcat.toml").write_text(block)
    loaded = load_config(tmp_path / "modelcat.toml")
    for name in source_names():
        declared = {k for k, (_, _, help_) in get_source(name).settings.items() if not help_.startswith("this run")}
        assert declared <= set(loaded.get(name, {})), (name, sorted(declared - set(loaded.get(name, {}))))
