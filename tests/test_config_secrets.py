"""Which config values are secrets (kept out of logs): credentials, however written, and
values from ``${VAR}`` / ``${file:...}``, except under keys declared ``secret=False``."""

from __future__ import annotations

from pathlib import Path

from bridge.config import parse_config
from bridge.schema import NON_EMPTY_TEXT, Option, Problems, Schema, Secrets

CONFIG = """
[bridge]
state_dir = "${{STATE_DIRECTORY}}"
http = ""

[venues.shark-alice]
plugin = "skinshark"
api_key = "${{SHARK_KEY}}"
sub_user = "${{SHARK_SUB_USER}}"

[venues.pro]
plugin = "bitopro"
api_key = "pro-key-literal"
api_secret = "${{file:{secret_file}}}"
identity = "${{PRO_IDENTITY}}"

[webhooks.ops]
url = "https://hooks.example.com/ops"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
headers = {{ X-Api-Key = "${{OPS_KEY}}" }}

[[rules]]
name = "any fill"
on = "fill"
notify = ["ops"]
"""

ENVIRON = {
    "STATE_DIRECTORY": "/var/lib/alert-bridge",
    "SHARK_KEY": "sk_live_5e6f7a8b",
    "SHARK_SUB_USER": "alice",
    "PRO_IDENTITY": "desk@example.com",
    "OPS_KEY": "ops-key-1234",
}


def test_identifiers_are_not_secrets_however_written(tmp_path: Path) -> None:
    secret_file = tmp_path / "pro_secret"
    secret_file.write_text("pro-secret-from-file\n")
    config = parse_config(CONFIG.format(secret_file=secret_file), environ=ENVIRON)
    assert config.venues["shark-alice"].options["sub_user"] == "alice"
    assert config.bridge.state_dir == Path("/var/lib/alert-bridge")
    assert config.secrets == {
        "sk_live_5e6f7a8b",  # a secret key, from ${VAR}
        "pro-key-literal",  # a secret key, written literally
        "pro-secret-from-file",  # a secret key, from ${file:...}
        "desk@example.com",  # no declaration: from ${VAR}, so kept out of logs
        "ops-key-1234",  # a header value from ${VAR}
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
    # Not "alice" (skinshark's sub_user says secret=False), nor the state directory.


def test_a_value_from_a_variable_is_secret_wherever_a_key_does_not_say_otherwise() -> None:
    schema = Schema(
        (
            Option("name", NON_EMPTY_TEXT, secret=False),
            Option("token", NON_EMPTY_TEXT, secret=True),
            Option("note", NON_EMPTY_TEXT),
        )
    )
    table = {"name": "n1", "token": "literal-token", "note": "note-from-env"}
    options = schema.validate(table, "kind.x", Problems())
    secrets = Secrets(
        [
            ("kind.x.name", "n1"),
            ("kind.x.note", "note-from-env"),
            ("kind.x.names[0]", "n2"),  # another key that begins the same way
            ("rules[0].where.side", "buy"),
        ]
    )
    secrets.collect(schema, "kind.x", options)
    assert secrets.values() == {"literal-token", "note-from-env", "n2", "buy"}
