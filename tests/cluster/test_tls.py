"""``gleamnb cluster start --tls``: certificates beside the record, used by the command and
by clients, and a client without them refused."""

from __future__ import annotations

import operator
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clusters import free_port, gleamnb, kill_all

import gleamnb as gl
from gleamnb.cluster import records, tls


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(Path(path).stat().st_mode)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 1-agent TLS cluster whose record is in this machine's default place (a temporary
    $XDG_STATE_HOME, for this module's process too), so gl.distributed() finds it."""
    state = tmp_path_factory.mktemp("state")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_STATE_HOME", str(state))
    port = free_port()
    got = gleamnb("cluster", "start", "--agents", "1", "--port", str(port), "--tls", state=state)
    record = records.read()
    try:
        assert got.returncode == 0, got.stderr
        assert record is not None
        yield {"state": state, "start": got, "record": record, "port": port}
    finally:
        if records.read() is not None:
            gleamnb("cluster", "stop", state=state)
        kill_all(record)
        patch.undo()


def test_the_certificates_are_private_and_named_by_the_record(secured: dict[str, Any]) -> None:
    record = secured["record"]
    assert record["address"] == f"tls://127.0.0.1:{secured['port']}"
    folder = tls.folder(records.folder(), "default")
    assert _mode(folder) == 0o700
    assert set(record["tls"]) == {"ca", "cert", "key"}
    for path in record["tls"].values():
        assert Path(path).parent == folder
        assert _mode(path) == 0o600
    assert "tls:" in secured["start"].stdout


def test_the_command_and_clients_pick_the_certificates_up(secured: dict[str, Any]) -> None:
    status = gleamnb("cluster", "status", "--json", state=secured["state"])
    assert status.returncode == 0, status.stderr
    assert '"address": "tls://127.0.0.1' in status.stdout
    expected: dict[int, int] = {}
    for x in range(500):
        expected[x % 5] = expected.get(x % 5, 0) + x
    for master in (None, f"127.0.0.1:{secured['port']}"):  # from the record, or named
        with gl.distributed(master=master) as runner:
            flow = gl.Flow("tls").range(0, 500, shards=2).map(lambda x: (x % 5, x))
            got = flow.reduce_by_key(operator.add).collect(runner, progress=False)
        assert sorted(got) == sorted(expected.items())


def test_a_client_without_the_certificates_is_refused(
    secured: dict[str, Any], tmp_path: Path
) -> None:
    from distributed import Client
    from distributed.security import Security

    port = secured["port"]
    with pytest.raises((OSError, TimeoutError)):  # plain TCP
        Client(f"tcp://127.0.0.1:{port}", timeout=3, set_as_default=False)
    other = tls.make_certificates(tmp_path / "other")  # a certificate of its own
    for security in (
        Security(tls_ca_file=secured["record"]["tls"]["ca"], require_encryption=True),
        tls.security(other),
    ):
        runner = gl.distributed(master=f"tls://127.0.0.1:{port}", timeout=3, security=security)
        with pytest.raises(gl.GleamError, match="cannot reach the gleamnb master"):
            gl.Flow().range(0, 3).count(runner)


def test_stop_removes_the_certificates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    got = gleamnb(
        "cluster", "start", "--agents", "1", "--port", "0", "--tls", "--dir", str(tmp_path),
        "--name", "short",
    )  # fmt: skip
    record = records.read("short", tmp_path)
    try:
        assert got.returncode == 0, got.stderr
        assert Path(record["tls"]["key"]).exists()
        stopped = gleamnb("cluster", "stop", "--dir", str(tmp_path), "--name", "short")
        assert stopped.returncode == 0, stopped.stderr
        assert not tls.folder(tmp_path, "short").exists()
        assert not (tmp_path / "tls").exists()
        assert records.read("short", tmp_path) is None
    finally:
        kill_all(record)
