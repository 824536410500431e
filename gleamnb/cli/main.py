"""The ``gleamnb`` command line.

``gleamnb cluster start|status|stop|list`` manage gleamnb clusters on this machine: a
background process (:mod:`gleamnb.cluster.serve`) runs a Dask scheduler with the gleamnb
master and one Dask worker per agent, and a discovery record
(:mod:`gleamnb.cluster.records`) tells ``gl.distributed()`` and these commands where it is.
``gleamnb master`` and ``gleamnb agent --master HOST:PORT`` run one role in the foreground,
for clusters spread over several machines.

Mistakes and failures end with a message of one or two lines (what, where, how to fix it)
and an exit code other than 0, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from gleamnb.cluster import records
from gleamnb.cluster.serve import log_path, scratch

__all__ = ["main", "cli", "Failure"]

#: Gleam's port, the default of the master.
DEFAULT_PORT = 45326

#: Seconds ``cluster start`` waits for the agents.
START_TIMEOUT = 90.0

#: Seconds ``cluster stop`` waits for the cluster to close before killing what is left.
STOP_TIMEOUT = 20.0

#: Seconds to wait for a master to answer.
CONNECT_TIMEOUT = 5.0


class Failure(click.ClickException):
    """A user-facing error: ``what`` happened, and how to ``fix`` it; exits with ``code``.

    >>> Failure("no cluster", "start one").format_message()
    'no cluster\\n  fix: start one'
    """

    def __init__(self, what: str, fix: str = "", code: int = 1) -> None:
        super().__init__(what + (f"\n  fix: {fix}" if fix else ""))
        self.exit_code = code

    def show(self, file: Any = None) -> None:
        click.echo(f"gleamnb: error: {self.format_message()}", err=True)


def _version() -> str:
    from gleamnb import __version__

    return __version__


def _quiet() -> None:
    """Dask's connection warnings would repeat what our messages say."""
    for name in ("distributed", "tornado", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _hostport(address: str) -> tuple[str, int]:
    """The host and port of a Dask address.

    >>> _hostport("tcp://127.0.0.1:45326")
    ('127.0.0.1', 45326)
    >>> _hostport("localhost:8786")
    ('localhost', 8786)
    """
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    return host.strip("[]"), int(port)


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` (port 0: any free port, always)."""
    if port == 0:
        return True
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _check_port(host: str, port: int, what: str, option: str) -> None:
    if not port_free(host, port):
        raise Failure(
            f"port {port} on {host} is in use: the {what} cannot listen there",
            f"stop what holds it (`ss -ltnp | grep :{port}` shows it), or choose another "
            f"with {option} PORT (0: any free port)",
        )


def _reachable(address: str, timeout: float = 2.0) -> bool:
    try:
        host, port = _hostport(address)
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _security(record: dict[str, Any] | None) -> Any:
    """Dask's TLS options for the cluster of ``record`` (None: plain TCP)."""
    from gleamnb.cluster import tls

    return tls.security((record or {}).get("tls"))


def query_status(address: str, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """The master's ``gleamnb_status`` at ``address`` (a :class:`Failure` if unreachable)."""
    _quiet()
    if "://" not in address:
        address = f"tcp://{address}"
    if not _reachable(address):
        raise Failure(
            f"the gleamnb master at {address} is unreachable (nothing listens there)",
            "is the cluster running? `gleamnb cluster list` shows the clusters of this "
            "machine; start one with `gleamnb cluster start`",
        )
    from distributed.core import rpc

    sec = _security(record)
    args = sec.get_connection_args("client") if sec is not None else {}

    async def ask() -> dict[str, Any]:
        async with rpc(address, connection_args=args, timeout=CONNECT_TIMEOUT) as r:
            return await asyncio.wait_for(r.gleamnb_status(), CONNECT_TIMEOUT)

    try:
        got = asyncio.run(ask())
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        if "gleamnb_status" in text or "unknown operation" in text.lower():
            raise Failure(
                f"the Dask scheduler at {address} has no gleamnb master",
                "start the cluster with `gleamnb cluster start` or `gleamnb master`, or run "
                "a flow on it with gl.distributed(), which installs the master",
            ) from None
        raise Failure(
            f"the gleamnb master at {address} did not answer: {text}",
            "is the cluster running? `gleamnb cluster status` on the machine that runs it, "
            "or restart it with `gleamnb cluster stop` and `gleamnb cluster start`",
        ) from None
    if not isinstance(got, dict):
        raise Failure(f"the gleamnb master at {address} answered {got!r}")
    return got


def _check_version(theirs: Any, where: str) -> None:
    ours = _version()
    if theirs != ours:
        raise Failure(
            f"gleamnb version mismatch: {where} has gleamnb {theirs}, this command gleamnb {ours}",
            "restart the cluster with this gleamnb (`gleamnb cluster stop`, then `gleamnb "
            "cluster start`), or run the gleamnb that started it",
        )


def _where(name: str, dir: str | None) -> str:
    return f"cluster '{name}' (record {records.path(name, dir)})"


def _stale(record: dict[str, Any], name: str, dir: str | None) -> NoReturn:
    """Remove the record of a cluster whose processes are gone, and say so."""
    _clean(record, name, dir)
    raise Failure(
        f"{_where(name, dir)} was not running: its processes are gone; removed its stale record",
        "start it again with `gleamnb cluster start"
        + (f" --name {name}" if name != records.DEFAULT else "")
        + (f" --dir {dir}" if dir else "")
        + "`",
    )


def _running(name: str, dir: str | None) -> dict[str, Any]:
    """The record of running cluster ``name`` (a :class:`Failure` if none or stale)."""
    record = records.read(name, dir)
    if record is None:
        raise Failure(
            f"no gleamnb cluster named '{name}' is running: no record in {records.folder(dir)}",
            "start one with `gleamnb cluster start`; `gleamnb cluster list` shows the "
            "clusters recorded there",
        )
    if not records.alive(record):
        _stale(record, name, dir)
    return record


def _clean(record: dict[str, Any], name: str, dir: str | None) -> None:
    """Remove the record of cluster ``name`` and its scratch folder."""
    records.remove(name, dir)
    from gleamnb.cluster import tls

    shutil.rmtree(tls.folder(records.folder(dir), name), ignore_errors=True)
    with contextlib.suppress(OSError):
        tls.folder(records.folder(dir), name).parent.rmdir()
    work = Path(record.get("scratch") or scratch(name, dir))
    shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # the scratch folders' parent, once no cluster has one there


# -- the commands -------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gleamnb", message="gleamnb %(version)s")
def cli() -> None:
    """gleamnb: map/reduce on Arrow, on this machine or a Dask cluster."""


@cli.group()
def cluster() -> None:
    """Start, inspect and stop gleamnb clusters on this machine."""


_dir_option = click.option(
    "--dir",
    "dir",
    default=None,
    metavar="DIR",
    help="Folder of the record (default: $XDG_STATE_HOME/gleamnb/clusters).",
)
_name_option = click.option("--name", default=records.DEFAULT, show_default=True)


@cluster.command()
@click.option("--agents", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--executors-per-agent", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--dashboard-port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="0: any free port.",
)
@click.option("--memory-limit", default=None, help="Per agent, e.g. 2GiB (default: a share).")
@_dir_option
@_name_option
@click.option("--tls", is_flag=True, help="Encrypt with TLS (needs the cryptography package).")
def start(
    agents: int,
    executors_per_agent: int,
    host: str,
    port: int,
    dashboard_port: int,
    memory_limit: str | None,
    dir: str | None,
    name: str,
    tls: bool,
) -> None:
    """Start a cluster in the background: a master and AGENTS agents."""
    if tls:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise Failure(
                "--tls needs the cryptography package, which is not installed",
                'pip install "gleamnb[tls]" (or pip install cryptography), then run this '
                "command again",
                code=2,
            ) from None
    old = records.read(name, dir)
    if old is not None:
        if records.alive(old):
            raise Failure(
                f"{_where(name, dir)} is already running at {old.get('address')}",
                f"stop it with `gleamnb cluster stop --name {name}"
                + (f" --dir {dir}" if dir else "")
                + "`, or start another with --name OTHER",
            )
        _clean(old, name, dir)
        click.echo(
            f"gleamnb: removed the stale record of {_where(name, dir)}: its processes were gone",
            err=True,
        )
    _check_port(host, port, "master", "--port")
    _check_port(host, dashboard_port, "dashboard", "--dashboard-port")

    folder = records.folder(dir)
    folder.mkdir(parents=True, exist_ok=True)
    log = log_path(name, dir)
    command = [
        sys.executable,
        "-m",
        "gleamnb.cluster.serve",
        "--name",
        name,
        "--agents",
        str(agents),
        "--executors-per-agent",
        str(executors_per_agent),
        "--host",
        host,
        "--port",
        str(port),
        "--dashboard-port",
        str(dashboard_port),
        "--memory-limit",
        memory_limit or "auto",
    ]
    if dir is not None:
        command += ["--dir", str(folder)]
    if tls:
        from gleamnb.cluster import tls as certificates

        made = certificates.make_certificates(certificates.folder(folder, name), host)
        command += ["--tls-dir", os.path.dirname(made["key"])]
    env = dict(os.environ)
    # The serve process imports the same gleamnb as this command.
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    with open(log, "w") as out:
        os.chmod(log, 0o600)
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    try:
        record = _wait_ready(proc, name, dir, log)
    except Failure:
        if tls:
            shutil.rmtree(certificates.folder(folder, name), ignore_errors=True)
        raise
    address = record["address"]
    click.echo(
        f"gleamnb cluster '{name}' started: {agents} agents, {executors_per_agent} "
        f"executor{'s' if executors_per_agent != 1 else ''} each"
    )
    click.echo(f"  address:   {address}")
    click.echo(f"  dashboard: {record.get('dashboard')}")
    click.echo(f"  record:    {records.path(name, dir)}")
    click.echo(f"  log:       {log}")
    plain = address.split("://", 1)[-1] if address.startswith("tcp://") else address
    click.echo(f'  use it:    gl.distributed(master="{plain}")')
    if tls:
        click.echo(f"  tls:       {os.path.dirname(record['tls']['key'])} (mode 0600)")


def _wait_ready(proc: subprocess.Popen[bytes], name: str, dir: str | None, log: Path) -> dict:
    """The record of the serve process ``proc`` once it is ready (a Failure if it died)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        record = records.read(name, dir)
        if record is not None and record.get("pids", {}).get("process") == proc.pid:
            return record
        code = proc.poll()
        if code is not None:
            tail = _tail(log)
            raise Failure(
                f"the cluster '{name}' did not start (its process exited with code {code})"
                + (f": {tail}" if tail else ""),
                f"see its log {log}",
            )
        if time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(STOP_TIMEOUT)
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise Failure(
                f"the cluster '{name}' did not start within {START_TIMEOUT:.0f} s; stopped it",
                f"see its log {log}",
            )
        time.sleep(0.1)


def _tail(log: Path) -> str:
    """The last meaningful line of a log (an error's text, usually)."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln and not ln.startswith(("File ", "^", "Traceback"))]
    return lines[-1][:300] if lines else ""


@cluster.command()
@_name_option
@_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(name: str, dir: str | None, as_json: bool) -> None:
    """The master, the agents and their executors, and the recent runs."""
    record = _running(name, dir)
    _check_version(record.get("version"), f"the record of {_where(name, dir)}")
    got = query_status(record["address"], record)
    _check_version(got.get("version"), f"the master at {record['address']}")
    out = {
        "name": name,
        "version": got.get("version"),
        "master": got.get("master", {}),
        "agents": got.get("agents", []),
        "runs": got.get("runs", []),
        "record": str(records.path(name, dir)),
    }
    if as_json:
        click.echo(json.dumps(out, default=str))
        return
    m = out["master"]
    click.echo(f"cluster '{name}' (gleamnb {out['version']})")
    click.echo(
        f"master  {m.get('address')}  pid {m.get('pid')}  up {float(m.get('up') or 0):.0f} s"
    )
    click.echo(f"dashboard {m.get('dashboard')}")
    rows = [("agent", "pid", "cores", "memory", "tasks", "held", "executors")]
    for a in out["agents"]:
        mem = a.get("memory")
        rows.append(
            (
                str(a.get("address")),
                str(a.get("pid")),
                str(a.get("cores")),
                f"{mem / 2**30:.1f} GiB" if isinstance(mem, int | float) and mem else "-",
                str(a.get("tasks")),
                f"{a.get('datasets', 0)} pieces, {_mib(a.get('bytes'))}",
                " ".join(str(p) for p in a.get("executors", [])) or "-",
            )
        )
    _table(rows)
    runs = out["runs"]
    click.echo(f"runs ({len(runs)} recent)" + (":" if runs else ""))
    for run in runs[-10:]:
        secs = run.get("seconds")
        click.echo(
            f"  {run.get('id')}  {run.get('flow', '')}  {run.get('state', '')}"
            + (f"  {secs:.2f} s" if isinstance(secs, int | float) else "")
        )
    shown = next((r for r in runs if r.get("state") == "running"), runs[-1] if runs else None)
    if shown and shown.get("stages"):
        click.echo(f"stages of run {shown.get('id')} ({shown.get('state')}):")
        rows = [("  stage", "state", "tasks", "rows", "bytes", "seconds")]
        for st in shown["stages"]:
            secs = st.get("seconds")
            rows.append(
                (
                    f"  {st.get('name')}",
                    str(st.get("state")),
                    f"{st.get('done', 0)}/{st.get('tasks', 0)}",
                    f"{st.get('rows', 0):,}",
                    _mib(st.get("bytes")),
                    f"{secs:.2f}" if isinstance(secs, int | float) else "-",
                )
            )
        _table(rows)


def _mib(nbytes: Any) -> str:
    """Bytes as MiB for the status table.

    >>> _mib(3 * 2**20), _mib(None)
    ('3.0 MiB', '0.0 MiB')
    """
    return f"{(nbytes or 0) / 2**20:.1f} MiB"


def _table(rows: list[tuple[str, ...]]) -> None:
    """Print ``rows`` in columns, the first row a header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@cluster.command()
@_name_option
@_dir_option
def stop(name: str, dir: str | None) -> None:
    """Stop a cluster: its master, agents and executors; remove its record."""
    record = _running(name, dir)
    executors: list[int] = []
    with contextlib.suppress(Failure):
        got = query_status(record["address"], record)
        executors = [p for a in got.get("agents", []) for p in a.get("executors", [])]
        executors += [a["pid"] for a in got.get("agents", []) if isinstance(a.get("pid"), int)]
    pids = records.pids(record)
    main_pid = record.get("pids", {}).get("process")
    if isinstance(main_pid, int) and records.exists(main_pid):
        with contextlib.suppress(OSError):
            os.kill(main_pid, signal.SIGTERM)
        _wait_gone([main_pid], STOP_TIMEOUT)
    everyone = sorted({*pids, *executors} - {os.getpid(), os.getppid()})
    left = _wait_gone(everyone, 3.0)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    killed = _wait_gone(left, 5.0)
    _clean(record, name, dir)
    click.echo(
        f"gleamnb cluster '{name}' stopped ({record.get('address')})"
        + (f"; killed {len(left)} processes that did not exit" if left else "")
    )
    if killed:
        raise Failure(
            f"processes {killed} of cluster '{name}' are still alive after SIGKILL",
            "check them with `ps -p " + ",".join(map(str, killed)) + "`",
        )


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    """Wait up to ``seconds`` for ``pids`` to exit; those still alive."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pids if records.exists(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@cluster.command(name="list")
@_dir_option
def list_(dir: str | None) -> None:
    """The clusters recorded on this machine, one a line: name, address, alive or stale."""
    found = records.all(dir)
    if not found:
        click.echo(f"no gleamnb clusters recorded in {records.folder(dir)}")
        return
    for r in found:
        state = "alive" if records.alive(r) else "stale"
        started = r.get("started")
        when = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
            if isinstance(started, int | float)
            else "?"
        )
        click.echo(f"{r.get('name')}\t{r.get('address')}\t{state}\tstarted {when}")


# -- one role in the foreground --------------------------------------------------------------


def _until_signal(make: Callable[[], Any], rejoin: bool = False) -> None:
    """Run the server ``make()`` returns (a Dask Scheduler or Nanny, not started) until
    SIGTERM or Ctrl-C. It is made in the event loop that runs it, as Dask servers are bound
    to the loop they are made in.

    With ``rejoin`` (an agent), a server that ends on its own (its master went away: a Dask
    worker closes when it loses its scheduler) is made again, and waits for the master to
    come back, so agents on other machines rejoin a restarted master by themselves.
    """

    async def go() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            server = make()
            stopped = asyncio.ensure_future(stop.wait())
            starting = asyncio.ensure_future(server.start())
            await asyncio.wait([starting, stopped], return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():  # stopped while waiting for the master
                starting.cancel()
                await server.close()
                return
            starting.result()
            click.echo(f"gleamnb {type(server).__name__.lower()} at {server.address}", err=True)
            finished = asyncio.ensure_future(server.finished())
            await asyncio.wait([finished, stopped], return_when=asyncio.FIRST_COMPLETED)
            if not finished.done():
                finished.cancel()
                await server.close()
                return
            stopped.cancel()
            if not rejoin:
                return
            click.echo("gleamnb: the master went away; waiting for it to come back", err=True)
            await asyncio.sleep(1.0)

    asyncio.run(go())


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option("--dashboard-port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option("--executors", type=click.IntRange(min=1), default=None, help="Per agent.")
def master(host: str, port: int, dashboard_port: int, executors: int | None) -> None:
    """Run a master (a Dask scheduler with the gleamnb master) until Ctrl-C."""
    _check_port(host, port, "master", "--port")
    _check_port(host, dashboard_port, "dashboard", "--dashboard-port")
    from distributed import Scheduler

    from gleamnb.cluster.master import Master

    _until_signal(
        lambda: Scheduler(
            host=host,
            port=port,
            dashboard_address=f"{host}:{dashboard_port}",
            plugins=[Master(executors)],
        )
    )


@cli.command()
@click.option("--master", "address", required=True, metavar="HOST:PORT")
@click.option("--executors", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--memory-limit", default="auto", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the agent listens.")
@_dir_option
def agent(address: str, executors: int, memory_limit: str, host: str, dir: str | None) -> None:
    """Run an agent (a Dask worker under a nanny) of the master at HOST:PORT until Ctrl-C."""
    if "://" not in address:
        address = f"tcp://{address}"
    if not _reachable(address):
        raise Failure(
            f"the gleamnb master at {address} is unreachable (nothing listens there)",
            "start it first (`gleamnb master` or `gleamnb cluster start`) and check the "
            "address and the firewall",
        )
    from distributed import Nanny

    _until_signal(
        lambda: Nanny(
            address,
            nthreads=executors,
            memory_limit=memory_limit,
            local_directory=dir,
            host=host,
        ),
        rejoin=True,
    )


def main(argv: list[str] | None = None) -> None:
    """The ``gleamnb`` console script."""
    cli.main(args=argv, prog_name="gleamnb")
