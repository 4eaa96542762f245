from pathlib import Path

import pytest

from bridge.errors import ConfigError
from bridge.interpolation import Interpolator
from bridge.schema import Problems


def resolve(value: object, environ: dict[str, str]) -> tuple[object, Problems, Interpolator]:
    problems = Problems()
    interpolator = Interpolator(environ)
    return interpolator.resolve(value, "webhooks.ops.secret", problems), problems, interpolator


def test_variables_are_substituted_inside_text_and_lists() -> None:
    value, problems, interpolator = resolve(
        {"urls": ["tgram://${TOKEN}/${CHAT}"], "n": 3}, {"TOKEN": "t0k", "CHAT": "42"}
    )
    assert value == {"urls": ["tgram://t0k/42"], "n": 3}
    assert not problems
    assert interpolator.resolved == {"t0k", "42"}


def test_missing_variable_is_an_error_naming_it_never_an_empty_string() -> None:
    _, problems, _ = resolve("${OPS_SECRET}", {})
    assert [p.path for p in problems.items] == ["webhooks.ops.secret"]
    assert "OPS_SECRET is not set" in problems.items[0].message


def test_empty_variable_is_kept_as_set() -> None:
    value, problems, _ = resolve("x${EMPTY}y", {"EMPTY": ""})
    assert value == "xy" and not problems


def test_escape_gives_a_literal_reference() -> None:
    value, problems, _ = resolve("cost $${NOT_A_VAR}", {})
    assert value == "cost ${NOT_A_VAR}" and not problems


def test_bad_reference_syntax_is_reported() -> None:
    _, problems, _ = resolve("${not a name}", {})
    assert "not a variable name" in problems.items[0].message


def test_absolute_file_reference(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    value, problems, interpolator = resolve(f"${{file:{secret}}}", {})
    assert value == "s3cr3t" and not problems  # the trailing newline is not part of it
    assert "s3cr3t" in interpolator.resolved


def test_relative_file_resolves_in_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "gate_secret").write_text("abc")
    value, problems, _ = resolve("${file:gate_secret}", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert value == "abc" and not problems


def test_relative_file_without_credentials_directory_is_explained() -> None:
    _, problems, _ = resolve("${file:gate_secret}", {})
    assert "CREDENTIALS_DIRECTORY" in problems.items[0].message


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    _, problems, _ = resolve("${file:nope}", {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    message = problems.items[0].message
    assert "nope" in message and "cannot read" in message


def test_missing_variable_in_a_config_is_reported_once_with_its_path(make_config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        make_config('[venues.x]\nplugin = "gateio"\napi_key = "${GATE_KEY}"\napi_secret = "s"\n')
    lines = str(caught.value).splitlines()
    assert lines == [
        "config.toml: venues.x.api_key: environment variable GATE_KEY is not set "
        "(export it, or put the value in a file and write ${file:PATH})"
    ]
