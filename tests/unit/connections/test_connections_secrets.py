"""SecretCipher, the key file and environment key, and the two secret stores."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from stepline.connections import (
    FileSecretStore,
    InMemorySecretStore,
    Secret,
    SecretCipher,
    SecretDecryptError,
    SecretKeyError,
    default_data_dir,
    load_or_create_key,
)

PLAINTEXT = "correct horse battery staple"


@pytest.fixture
def cipher() -> SecretCipher:
    return SecretCipher(SecretCipher.generate_key())


# -- cipher ---------------------------------------------------------------------------------


def test_round_trip(cipher: SecretCipher) -> None:
    blob = cipher.encrypt(PLAINTEXT.encode(), secret_id="s1")
    assert PLAINTEXT.encode() not in blob
    assert cipher.decrypt(blob, secret_id="s1") == PLAINTEXT.encode()


def test_fresh_nonce_per_encryption(cipher: SecretCipher) -> None:
    first = cipher.encrypt(b"same", secret_id="s1")
    second = cipher.encrypt(b"same", secret_id="s1")
    assert first != second
    assert first[5:17] != second[5:17]  # the 96-bit nonces differ


def test_ciphertext_starts_with_version_and_key_id(cipher: SecretCipher) -> None:
    blob = cipher.encrypt(b"x", secret_id="s1")
    assert blob[0] == 1
    assert blob[1:5].hex() == cipher.key_id
    assert len(blob) == 1 + 4 + 12 + 1 + 16


@pytest.mark.parametrize("position", [0, 3, 10, 20, -1])
def test_tampering_is_detected(cipher: SecretCipher, position: int) -> None:
    blob = bytearray(cipher.encrypt(PLAINTEXT.encode(), secret_id="s1"))
    blob[position] ^= 0x01
    with pytest.raises(SecretDecryptError) as caught:
        cipher.decrypt(bytes(blob), secret_id="s1")
    assert PLAINTEXT not in str(caught.value)


def test_truncated_blob_is_refused(cipher: SecretCipher) -> None:
    with pytest.raises(SecretDecryptError, match="too short"):
        cipher.decrypt(b"\x01abc", secret_id="s1")


def test_associated_data_binds_the_secret_id(cipher: SecretCipher) -> None:
    blob = cipher.encrypt(PLAINTEXT.encode(), secret_id="connection-a")
    with pytest.raises(SecretDecryptError, match="another secret id"):
        cipher.decrypt(blob, secret_id="connection-b")


def test_wrong_key_names_both_key_ids(cipher: SecretCipher) -> None:
    blob = cipher.encrypt(b"x", secret_id="s1")
    other = SecretCipher(SecretCipher.generate_key())
    with pytest.raises(SecretDecryptError) as caught:
        other.decrypt(blob, secret_id="s1")
    assert cipher.key_id in str(caught.value)
    assert other.key_id in str(caught.value)


def test_previous_keys_decrypt_after_rotation(cipher: SecretCipher) -> None:
    old_key = SecretCipher.generate_key()
    old = SecretCipher(old_key)
    blob = old.encrypt(b"kept", secret_id="s1")
    rotated = SecretCipher(SecretCipher.generate_key(), previous_keys=[old_key])
    assert rotated.decrypt(blob, secret_id="s1") == b"kept"
    assert rotated.encrypt(b"new", secret_id="s1")[1:5].hex() == rotated.key_id


@pytest.mark.parametrize("key", [b"", b"short", bytes(31), bytes(33)])
def test_key_must_be_32_bytes(key: bytes) -> None:
    with pytest.raises(SecretKeyError, match="32 bytes"):
        SecretCipher(key)


def test_cipher_repr_and_pickle_show_no_key() -> None:
    key = SecretCipher.generate_key()
    cipher = SecretCipher(key)
    assert key.hex() not in repr(cipher)
    with pytest.raises(TypeError):
        cipher.__reduce__()


# -- key file and environment ---------------------------------------------------------------


def test_key_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "secret.key"
    key = load_or_create_key(path, environ={})
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert base64.b64decode(path.read_text().strip()) == key
    assert load_or_create_key(path, environ={}) == key  # read back, not recreated


def test_key_file_with_group_or_other_bits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    load_or_create_key(path, environ={})
    path.chmod(0o644)
    with pytest.raises(SecretKeyError) as caught:
        load_or_create_key(path, environ={})
    message = str(caught.value)
    assert "0644" in message and "chmod 600" in message and str(path) in message


def test_malformed_key_file_is_refused_without_echo(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not-a-key-at-all!!")
    os.close(fd)
    with pytest.raises(SecretKeyError) as caught:
        load_or_create_key(path, environ={})
    assert "not-a-key" not in str(caught.value)
    assert "32" in str(caught.value)


def test_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    env = {"STEPLINE_SECRET_KEY": base64.b64encode(key).decode()}
    assert load_or_create_key(tmp_path / "secret.key", environ=env) == key
    assert not (tmp_path / "secret.key").exists()


def test_environment_key_accepts_url_safe_base64() -> None:
    key = bytes([0xFB] * 32)
    env = {"STEPLINE_SECRET_KEY": base64.urlsafe_b64encode(key).decode()}
    assert load_or_create_key(environ=env) == key


@pytest.mark.parametrize(
    ("value", "expected"),
    [("***", "not valid base64"), (base64.b64encode(b"x" * 16).decode(), "16 bytes")],
)
def test_malformed_environment_key_is_explained(value: str, expected: str) -> None:
    with pytest.raises(SecretKeyError) as caught:
        load_or_create_key(environ={"STEPLINE_SECRET_KEY": value})
    assert expected in str(caught.value)
    assert "STEPLINE_SECRET_KEY" in str(caught.value)
    assert value not in str(caught.value)


def test_default_data_dir_order(tmp_path: Path) -> None:
    assert default_data_dir({"STEPLINE_DATA_DIR": str(tmp_path)}) == tmp_path
    assert default_data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "stepline"
    assert default_data_dir({"XDG_DATA_HOME": "relative"}).parts[-3:] == (
        ".local",
        "share",
        "stepline",
    )


def test_default_key_path_uses_the_data_dir(tmp_path: Path) -> None:
    key = load_or_create_key(environ={"STEPLINE_DATA_DIR": str(tmp_path / "d")})
    assert base64.b64decode((tmp_path / "d" / "secret.key").read_text()) == key


# -- stores ---------------------------------------------------------------------------------


def test_in_memory_store_keeps_only_ciphertext(cipher: SecretCipher) -> None:
    store = InMemorySecretStore(cipher)
    store.put("id-1", {"password": PLAINTEXT, "other": Secret("wrapped value")})
    blob = store.ciphertext("id-1")
    assert blob is not None
    assert PLAINTEXT.encode() not in blob and b"wrapped value" not in blob
    assert PLAINTEXT not in repr(store)
    got = store.get("id-1")
    assert got == {"password": Secret(PLAINTEXT), "other": Secret("wrapped value")}
    assert PLAINTEXT not in repr(got)
    store.delete("id-1")
    assert store.get("id-1") is None
    store.delete("id-1")  # deleting twice is fine


def test_file_store_files_never_contain_plaintext(tmp_path: Path, cipher: SecretCipher) -> None:
    store = FileSecretStore(tmp_path / "secrets", cipher)
    secret_id = "arn:aws:secretsmanager:us-east-1:123456789012:secret:events!connection/a/b-XyZ123"
    store.put(secret_id, {"basic/password": PLAINTEXT})
    store.put(secret_id, {"basic/password": PLAINTEXT, "api_key/value": "sk_live_abc"})
    files = list((tmp_path / "secrets").iterdir())
    assert [f.name for f in files] == [store.path_for(secret_id).name]  # no temp files left
    for file in files:
        content = file.read_bytes()
        assert PLAINTEXT.encode() not in content
        assert b"sk_live_abc" not in content
        assert b"connection/a" not in content and b"connection/a" not in file.name.encode()
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) & 0o077 == 0
    assert store.get(secret_id) == {
        "basic/password": Secret(PLAINTEXT),
        "api_key/value": Secret("sk_live_abc"),
    }
    assert store.get("missing") is None
    store.delete(secret_id)
    assert store.get(secret_id) is None


def test_file_store_reads_back_with_a_new_store_and_same_key(tmp_path: Path) -> None:
    key = SecretCipher.generate_key()
    FileSecretStore(tmp_path, SecretCipher(key)).put("s", {"k": "v"})
    assert FileSecretStore(tmp_path, SecretCipher(key)).get("s") == {"k": Secret("v")}
    with pytest.raises(SecretDecryptError):
        FileSecretStore(tmp_path, SecretCipher(SecretCipher.generate_key())).get("s")


def test_file_moved_to_another_id_fails_authentication(
    tmp_path: Path, cipher: SecretCipher
) -> None:
    store = FileSecretStore(tmp_path, cipher)
    store.put("a", {"k": PLAINTEXT})
    store.path_for("b").write_bytes(store.path_for("a").read_bytes())
    with pytest.raises(SecretDecryptError, match="another secret id"):
        store.get("b")
