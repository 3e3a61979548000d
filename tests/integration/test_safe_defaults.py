"""Settings as a fresh installation sees them: each case imports the settings in a new process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PRINT_SETTINGS = "import json, videosearch.settings as s; print(json.dumps({'debug': s.DEBUG, 'key': s.SECRET_KEY}))"


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VIDEOSEARCH_"))}
    env.update(VIDEOSEARCH_DATA_DIR=str(data_dir), VIDEOSEARCH_EMBEDDER="testmodel", **extra)
    return env


def settings_in(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_debug_is_off_unless_asked_for(tmp_path):
    assert settings_in(clean_env(tmp_path))["debug"] is False
    assert settings_in(clean_env(tmp_path, DJANGO_DEBUG="1"))["debug"] is True


def test_secret_key_comes_from_the_environment_else_from_the_data_dir(tmp_path):
    generated = settings_in(clean_env(tmp_path / "a"))["key"]
    assert generated == (tmp_path / "a" / "secret_key").read_text().strip()
    assert settings_in(clean_env(tmp_path / "a"))["key"] == generated

    given = "k" * 20 + "from-the-environment" + "z" * 20
    assert settings_in(clean_env(tmp_path / "b", DJANGO_SECRET_KEY=given))["key"] == given
    assert not (tmp_path / "b" / "secret_key").exists()


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_deploy_check_reports_no_issues_under_the_https_profile(tmp_path):
    env = clean_env(tmp_path, VIDEOSEARCH_HTTPS="1", DJANGO_ALLOWED_HOSTS="videosearch.example.org",
                    DJANGO_CSRF_TRUSTED_ORIGINS="https://videosearch.example.org")
    result = deploy_check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout

    plain = deploy_check(clean_env(tmp_path))  # the same installation without the profile is not deployable
    assert plain.returncode != 0 and "security.W008" in plain.stderr + plain.stdout
