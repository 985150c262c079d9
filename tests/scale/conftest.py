"""Fixtures of the backup, restore and take-next tests: the desk's config
(with SLA policies) and the CLI run in this process."""

from __future__ import annotations

import pytest

from desk_env import with_real_admin
from deskconsole.cli.main import main
from deskconsole.config import parse_config


@pytest.fixture
def desk_text(two_policies_text):
    """The test config with SLA policies; the real login (child processes) is an admin too."""
    return with_real_admin(two_policies_text)


@pytest.fixture
def desk_config(desk_text, write_config):
    path = write_config(desk_text)
    return parse_config(desk_text, str(path)), path


@pytest.fixture
def default_url(request) -> str | None:
    """The test's backend, if it runs on each (a test about one backend names its URL per call)."""
    return request.getfixturevalue("backend_url") if "backend_url" in request.fixturenames else None


@pytest.fixture
def cli(default_url, desk_config, monkeypatch, capsys, tmp_path):
    """``cli("backup", path, user="ada")`` -> (code, out, err), in this process."""
    backend_url = default_url
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("DESKCONSOLE_CONFIG", raising=False)
    monkeypatch.delenv("DESKCONSOLE_DB", raising=False)

    def run(*argv: str, user: str = "ada", url: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(["--config", str(desk_config[1]), "--db", url or backend_url, *argv], login=user)
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err, err
        if code != 0:  # a refusal: one line on stderr, nothing on stdout
            assert out == "" and err.startswith("deskconsole: ") and err.count("\n") == 1, (code, out, err)
        return code, out, err

    return run


