"""Production settings refuse to start half-configured, and pass check --deploy cleanly."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    base["DATABASE_URL"] = settings.DATABASE_URL
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def strong_key() -> str:
    return secrets.token_urlsafe(64)


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_manage("check", DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="helpline.example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_weak_secret_key() -> None:
    result = run_manage(
        "check", DJANGO_ENV="production", DJANGO_SECRET_KEY="changeme", DJANGO_ALLOWED_HOSTS="helpline.example.org"
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts() -> None:
    result = run_manage("check", DJANGO_ENV="production", DJANGO_SECRET_KEY=strong_key())
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_secret_read_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text(strong_key())
    result = run_manage(
        "check",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY_FILE=str(key_file),
        DJANGO_ALLOWED_HOSTS="helpline.example.org",
    )
    assert result.returncode == 0, result.stderr


def test_check_deploy_prints_no_warning() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=strong_key(),
        DJANGO_ALLOWED_HOSTS="helpline.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_unknown_environment_name_is_refused() -> None:
    result = run_manage("check", DJANGO_ENV="prod")
    assert result.returncode != 0
    assert "DJANGO_ENV must be" in result.stderr


def test_development_defaults_need_nothing(tmp_path: Path) -> None:
    result = run_manage("check", HELPLINE_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_negative_proxy_count_or_a_zero_failure_limit_is_refused() -> None:
    for name, value, message in [
        ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT must be 0 or more"),
        ("AXES_ADDRESS_FAILURE_LIMIT", "0", "AXES_ADDRESS_FAILURE_LIMIT must be at least 1"),
    ]:
        result = run_manage("check", **{name: value})
        assert result.returncode != 0
        assert message in result.stderr


def test_unknown_database_role_is_refused() -> None:
    result = run_manage("check", HELPLINE_DB_ROLE="app")
    assert result.returncode != 0
    assert "HELPLINE_DB_ROLE must be 'runtime' or 'owner'" in result.stderr


def test_a_redis_url_makes_the_cache_and_the_sessions_shared() -> None:
    show = "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'], s.SESSION_ENGINE)"
    for variable in ("CACHE_URL", "REDIS_URL"):
        result = run_manage("shell", "-c", show, **{variable: "redis://127.0.0.1:6379/9"})
        assert result.stdout.splitlines()[-1].split() == [
            "django.core.cache.backends.redis.RedisCache",
            "accounts.cached_sessions",
        ]
    result = run_manage("shell", "-c", show)
    assert result.stdout.splitlines()[-1].split() == [
        "django.core.cache.backends.locmem.LocMemCache",
        "accounts.sessions",
    ]


def test_reports_read_a_replica_only_when_its_url_is_given() -> None:
    show = (
        "from django.conf import settings as s; r = s.DATABASES.get('reports') or {}; "
        "print(sorted(s.DATABASES), s.DATABASE_ROUTERS, r.get('HOST'), r.get('TEST', {}).get('MIRROR'))"
    )
    without = run_manage("shell", "-c", show)
    assert without.returncode == 0, without.stderr
    assert without.stdout.splitlines()[-1] == "['default'] [] None None"
    replica = "postgres://helpline_app:secret@replica.internal:5432/helpline"
    with_replica = run_manage("shell", "-c", show, REPORTS_DATABASE_URL=replica)
    assert with_replica.returncode == 0, with_replica.stderr
    assert with_replica.stdout.splitlines()[-1] == (
        "['default', 'reports'] ['reports.replica.ReplicaRouter'] replica.internal default"
    )


def test_a_replica_that_is_not_postgresql_or_a_lag_below_a_second_is_refused() -> None:
    for env, message in [
        (
            {"REPORTS_DATABASE_URL": "mysql://reader@replica/helpline"},
            "REPORTS_DATABASE_URL must point to a PostgreSQL",
        ),
        ({"REPORTS_REPLICA_MAX_LAG": "0"}, "REPORTS_REPLICA_MAX_LAG must be at least 1"),
    ]:
        result = run_manage("check", **env)
        assert result.returncode != 0
        assert message in result.stderr
