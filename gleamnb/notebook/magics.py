"""``%%gleam`` and ``%gleam``: a cell that builds a flow, runs it and is its own monitor.

``%load_ext gleamnb`` registers them. Defaults come from ``%config GleamMagics.<option>``
(``show``, ``preview_rows``); ``%%gleam?`` and ``%gleam?`` print every option.

A ``%%gleam`` cell's body is plain Python with a fresh ``flow`` (a :class:`gleamnb.Flow`
named after the cell's NAME) in the user's namespace; its last expression, a Dataset or the
Flow, is what runs. The cell's output shows the flow's DAG at once, then its live progress,
with a Cancel button; the collected result is bound to ``-o VAR`` as a ``pyarrow.Table`` (a
Flow ending in sinks binds its run result) and previewed.
"""

from __future__ import annotations

import ast
import contextvars
import shlex
import subprocess
import sys
import threading
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Int, Unicode
from traitlets.config import Configurable

import gleamnb as gl
from gleamnb.notebook.errors import error_bundle, map_cells
from gleamnb.notebook.layout import DotMissing, Layout
from gleamnb.notebook.monitor import RunMonitor
from gleamnb.notebook.preview import preview_bundle
from gleamnb.notebook.waiting import hear_while_busy, wait_for
from gleamnb.plan.dot import stage_of

__all__ = ["GleamMagics", "GleamRunError"]

PARTS = ("dag", "progress", "preview")


class GleamRunError(Exception):
    """A ``%%gleam`` run failed or was cancelled; the cell's output already shows why.

    IPython prints its one line, not the frames of the magic's own machinery; the cell still
    counts as failed (Run All stops there).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"GleamRunError: {self}"]


@magics_class
class GleamMagics(Magics, Configurable):
    """The ``%%gleam`` cell magic and the ``%gleam`` line magic."""

    show = Unicode(
        "dag,progress,preview", help="What a %%gleam cell shows: dag, progress, preview."
    ).tag(config=True)
    preview_rows = Int(20, help="Rows of the result a %%gleam cell previews.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        Configurable.__init__(self, config=shell.config if shell is not None else None)
        Magics.__init__(self, shell=shell, **kwargs)

    # -- %%gleam ---------------------------------------------------------------------------------

    @no_var_expand
    @magic_arguments()
    @argument("name", nargs="?", default=None, help="The flow's name (default: flow).")
    @argument("-o", "--output", dest="var", default=None, help="Bind the result to VAR.")
    @argument("--local", action="store_true", help="Run on the local runner.")
    @argument("--cluster", metavar="ADDR", default=None, help="Run on the cluster at ADDR.")
    @argument("--dry-run", action="store_true", help="Draw the DAG and the plan; run nothing.")
    @argument("--no-cache", action="store_true", help="Do not reuse cached datasets.")
    @argument("--bg", action="store_true", help="Return at once; the run goes on in the cell.")
    @argument("--show", default=None, help="Comma list of dag, progress, preview (default: all).")
    @cell_magic("gleam")
    def gleam_cell(self, line: str, cell: str) -> Any:
        """Build a flow in the cell body and run its last expression, watching it live.

        The body is plain Python; ``flow`` is a fresh Flow named NAME. The last expression (a
        Dataset or the Flow) is what runs; with ``-o VAR`` the result (a pyarrow.Table, or
        the run result of a Flow ending in sinks) is bound to VAR.
        """
        args = parse_argstring(self.gleam_cell, line)
        show = _parts(args.show or self.show)
        runner = _runner(args)
        flow = gl.Flow(_unquoted(args.name) or "flow")
        target = self._evaluate(cell, flow)
        datasets = [target] if isinstance(target, gl.Dataset) else None
        flow = target.flow if isinstance(target, gl.Dataset) else target
        stages = flow.stage_infos(datasets)
        # graphviz lays the DAG out (a `dot` process) while the run starts beside it
        layout = _Laying(flow.to_dot(stages=True, datasets=datasets))
        monitor = RunMonitor(
            flow.name,
            None,
            stages,
            owner=stage_of(stages),
            text_plan=flow.explain(),
            show=[p for p in show if p != "preview"],
            widgets=not args.dry_run,
            layout_pending=True,
        )
        if args.dry_run:
            monitor.set_layout(layout.result())
            bundle = monitor.snapshot()
            bundle["text/plain"] = flow.explain()
            display(bundle, raw=True)
            return None
        if isinstance(target, gl.Dataset):
            handle = target.to_arrow(runner, progress=monitor, wait=False)
        else:
            handle = flow.run(runner, progress=monitor, cache=not args.no_cache, wait=False)
        monitor.set_layout(layout.result())
        hear_while_busy(monitor.cancel_button)
        view = display(monitor.widget, display_id=True)
        if datasets and flow.sinks:
            n = len(flow.sinks)
            print(
                f"note: this cell runs and collects its last expression; the flow's {n} "
                f"sink{'s' if n != 1 else ''} (printlnf, save, ...) run when the cell ends "
                "with `flow`"
            )
        monitor.on_cancel = lambda: handle.cancel(wait=False)
        monitor.request_draw(force=True)
        run = _CellRun(self.shell, handle, monitor, view, args.var, show, self.preview_rows)
        if args.bg:
            context = contextvars.copy_context()  # its output goes to this cell
            threading.Thread(
                target=context.run, args=(run.finish,), name=f"gleamnb {flow.name}", daemon=True
            ).start()
            return handle
        try:
            wait_for(handle)
        finally:
            run.finish()
        if run.failed is not None:
            raise GleamRunError(run.failed)
        return None

    def _evaluate(self, cell: str, flow: gl.Flow) -> Any:
        """Run the body with ``flow`` in the user's namespace; return its last expression."""
        ns = self.shell.user_ns
        ns["flow"] = flow
        source = "\n" + cell  # line k of the cell is line k of the code (line 1 is %%gleam)
        # IPython counts this cell before running it: its In[n] is one less than the count
        filename = self.shell.compile.cache(source, max(self.shell.execution_count - 1, 0))
        tree = ast.parse(source, filename=filename)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, filename, "exec"), ns)
        if last is None:
            target: Any = flow
        else:
            target = eval(compile(ast.Expression(last.value), filename, "eval"), ns)
        if not isinstance(target, (gl.Dataset, gl.Flow)):
            raise UsageError(
                f"the last line of a %%gleam cell must be a Dataset or the Flow, not "
                f"{type(target).__name__}: end the cell with e.g. `words` or `flow`"
            )
        if isinstance(target, gl.Flow) and not target.sinks:
            raise UsageError(
                f"flow {target.name!r} has no sink to run: end the cell with the dataset to "
                "collect (e.g. `words`), or add a sink such as .printlnf(...) or .save(...)"
            )
        return target

    # -- %gleam ----------------------------------------------------------------------------------

    @line_magic("gleam")
    def gleam_line(self, line: str) -> Any:
        """Choose and manage the session's runner.

        Usage::

          %gleam runner                       show the session's default runner
          %gleam local [--executors N]        run on the local runner (N executors)
          %gleam cluster start [--agents N] [--executors-per-agent K] [--name NAME]
                                              start a local cluster and run on it
          %gleam cluster connect ADDR         run on the gleamnb cluster at ADDR
          %gleam cluster status [--name NAME] its master, agents and runs
          %gleam cluster stop [--name NAME]   stop it (the local runner is the default again)
        """
        words = shlex.split(line)
        if not words:
            raise UsageError("%gleam needs a command: runner, local or cluster (see %gleam?)")
        command, rest = words[0], words[1:]
        if command == "runner":
            return _describe(gl.get_runner())
        if command == "local":
            opts = _options(rest, {"--executors": int})
            runner = gl.local(executors=opts.get("--executors"))
            gl.set_runner(runner)
            return _describe(runner)
        if command == "cluster":
            return self._cluster(rest)
        if command in ("datasets", "drop"):
            raise UsageError(f"%gleam {command} lists and drops cached datasets: not built yet")
        raise UsageError(f"unknown %gleam command {command!r}: use runner, local or cluster")

    def _cluster(self, words: list[str]) -> Any:
        if not words:
            raise UsageError("%gleam cluster needs start, connect, status or stop")
        sub, rest = words[0], words[1:]
        if sub == "connect":
            if len(rest) != 1:
                raise UsageError("usage: %gleam cluster connect HOST:PORT")
            runner = gl.distributed(master=rest[0])
            gl.set_runner(runner)
            return _describe(runner)
        if sub not in ("start", "status", "stop"):
            raise UsageError(
                f"unknown %gleam cluster command {sub!r}: start, connect, status, stop"
            )
        proc = subprocess.run(
            [sys.executable, "-m", "gleamnb.cli", "cluster", sub, *rest],
            capture_output=True,
            text=True,
        )
        out = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            raise UsageError(out or f"gleamnb cluster {sub} exited with {proc.returncode}")
        if sub == "start":
            name = _options(
                rest,
                {
                    "--name": str,
                    "--agents": int,
                    "--executors-per-agent": int,
                    "--host": str,
                    "--port": int,
                    "--dir": str,
                },
            ).get("--name")
            gl.set_runner(gl.distributed(master=_address(out)))
            print(out)
            print(f"the session's runner is now the cluster {name or 'default'!r}")
            return None
        if sub == "stop":
            gl.set_runner(None)
        print(out)
        return None


class _CellRun:
    """One ``%%gleam`` run: when it ends, the cell's output keeps its final view (by display
    id), the result is bound and previewed, or the error is shown (in the cell's context, from
    any thread)."""

    def __init__(
        self,
        shell: Any,
        handle: Any,
        monitor: RunMonitor,
        view: Any,
        var: str | None,
        show: tuple[str, ...],
        preview_rows: int,
    ) -> None:
        self.shell, self.handle, self.monitor = shell, handle, monitor
        self.view, self.var = view, var
        self.show, self.preview_rows = show, preview_rows
        self.failed: str | None = None
        self._done = threading.Lock()
        self.finished = False

    def finish(self) -> None:
        with self._done:
            if self.finished:
                return
            exc = self.handle.exception()  # waits for the run's end
            self.finished = True
        if self.monitor.status in ("pending", "running"):  # no final event came
            self.monitor.status = "failed" if exc is not None else "finished"
        self.view.update(self.monitor.snapshot(), raw=True)
        if isinstance(exc, gl.RunCancelledError):
            self.failed = f"the run of flow {self.monitor.flow!r} was cancelled"
            return
        if exc is not None:
            self.failed = f"the run of flow {self.monitor.flow!r} failed: " + _first_line(exc)
            display(error_bundle(exc, map_cells(self.shell)), raw=True)
            return
        result = self.handle.result()
        if self.var:
            self.shell.user_ns[self.var] = result
        if "preview" in self.show:
            # after what the run printed (a printlnf sink), in this cell (the caller's context)
            display(preview_bundle(result, self.preview_rows, self.var), raw=True)


class _Laying:
    """A graphviz layout made in a thread of its own (None without ``dot``)."""

    def __init__(self, dot: str) -> None:
        self._layout: Layout | None = None
        self._thread = threading.Thread(target=self._lay, args=(dot,), daemon=True)
        self._thread.start()

    def _lay(self, dot: str) -> None:
        try:
            self._layout = Layout.from_dot(dot)
        except DotMissing:
            self._layout = None

    def result(self) -> Layout | None:
        self._thread.join()
        return self._layout


def _unquoted(name: str | None) -> str | None:
    """``"word count"`` (IPython's argument split keeps the quotes) as ``word count``."""
    if name and len(name) >= 2 and name[0] == name[-1] and name[0] in "'\"":
        return name[1:-1]
    return name


def _first_line(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, gl.GleamError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _parts(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise UsageError(f"--show takes {', '.join(PARTS)}; not {', '.join(bad)}")
    return parts


def _runner(args: Any) -> Any:
    if args.local and args.cluster:
        raise UsageError("choose --local or --cluster ADDR, not both")
    if args.local:
        return gl.local()
    if args.cluster:
        return gl.distributed(master=args.cluster)
    return None


def _options(words: list[str], known: dict[str, type]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    it = iter(words)
    for w in it:
        key, _, value = w.partition("=")
        if key not in known:
            raise UsageError(f"unknown option {key!r} (known: {', '.join(known)})")
        if not value:
            value = next(it, "")
        try:
            out[key] = known[key](value)
        except ValueError:
            raise UsageError(f"{key} needs a {known[key].__name__}, not {value!r}") from None
    return out


def _address(text: str) -> str:
    for line in text.splitlines():
        if line.strip().startswith("address:"):
            return line.split("address:", 1)[1].strip()
    raise UsageError(f"could not find the cluster's address in:\n{text}")


def _describe(runner: Any) -> str:
    return f"the session's gleamnb runner: {runner!r}"
