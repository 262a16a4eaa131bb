"""The ``slo-engine`` command: the public CLI contract (names, flags and JSON fields are stable).

Human-readable progress and tables go to standard error and standard output respectively;
``--format json`` prints only JSON on standard output so scripts can pipe it.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from slo_engine.models import Recommendation

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Recommend SLOs for every microservice.")
approvals_app = typer.Typer(no_args_is_help=True, help="Pending recommendations and human decisions.")
graph_app = typer.Typer(no_args_is_help=True, help="Dependency graph analyses.")
runbooks_app = typer.Typer(no_args_is_help=True, help="Runbook knowledge: index and search.")
app.add_typer(approvals_app, name="approvals")
app.add_typer(graph_app, name="graph")
app.add_typer(runbooks_app, name="runbooks")

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

DEFAULT_DATA_DIR = Path(".slo-engine")


class Approve(StrEnum):
    auto = "auto"
    manual = "manual"
    prompt = "prompt"


def prompt_approver(status: Any, by: str) -> Any:
    """The HumanApproval step at a terminal: each recommendation is shown and approved, rejected or skipped."""
    from slo_engine.embedded.state_store import DecisionError
    from slo_engine.models import ApprovalDecision

    def decide(engine: Any, doc: dict[str, Any]) -> dict[str, Any]:
        status.stop()
        err.print(doc["summary"]["text"], highlight=False)
        approved: list[str] = []
        held: list[str] = []
        for rec_id in doc["summary"]["recommendation_ids"]:
            rec = engine.state.get_recommendation(rec_id)
            if rec is None:
                continue
            thr = f" under {rec.threshold_ms:g} ms" if rec.threshold_ms else ""
            err.print(f"\n[bold]{rec.service}[/] {rec.sli.value}{thr}: {_pct(rec.target)}  {rec.rationale}")
            if rec.risks:
                err.print("risks: " + "; ".join(rec.risks), highlight=False)
            answer = typer.prompt("approve, reject or skip? [a/r/s]", default="s", err=True).strip().lower()
            if answer[:1] not in ("a", "r"):
                held.append(rec_id)
                continue
            reason = typer.prompt("why", default="", err=True, show_default=False)
            try:
                engine.state.record_decision(
                    ApprovalDecision(recommendation_id=rec_id, approved=answer.startswith("a"), by=by, reason=reason)
                )
            except DecisionError as error:
                err.print(f"[yellow]{error}[/]")
                continue
            (approved if answer.startswith("a") else held).append(rec_id)
        status.start()
        return {"approved": approved, "held": held, "by": by, "mode": "prompt"}

    return decide


def _approver(approve: Approve, status: Any) -> Any:
    if approve is not Approve.prompt:
        return None
    if not sys.stdin.isatty():
        fail("--approve prompt needs a terminal; use --approve manual and `slo-engine approvals decide`")
    import getpass

    return prompt_approver(status, getpass.getuser())


def _mode(approve: Approve) -> str:
    return "manual" if approve is Approve.prompt else approve.value


class Format(StrEnum):
    table = "table"
    json = "json"


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _progress(status: Any) -> Any:
    started: dict[str, float] = {}

    def report(state: str, phase: str) -> None:
        if phase == "start":
            started[state] = time.perf_counter()
            status.update(f"[bold]{state}[/] ...")
        else:
            took = time.perf_counter() - started.get(state, time.perf_counter())
            err.print(f"  [green]✓[/] {state} [dim]{took:.2f}s[/]", highlight=False)

    return report


def _pct(value: float | None) -> str:
    if value is None:
        return "-"
    text = f"{value * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _short_risk(risk: str) -> str:
    if risk.startswith("capped by dependency"):
        return "capped by " + risk.removeprefix("capped by dependency ").split(" ")[0]
    if risk.startswith("circular dependency"):
        return "cycle " + risk.split(": ", 1)[1]
    if risk.startswith("approval:"):
        return "needs named approver"
    return risk.split(":", 1)[0]


def recommendations_table(recs: list[Recommendation], title: str) -> Table:
    """A compact table; the JSON output carries every field and the full risk texts."""
    table = Table(title=title, header_style="bold", pad_edge=False)
    table.add_column("service", no_wrap=True)
    table.add_column("SLI", no_wrap=True)
    for col in ("target", "attained", "ceiling", "events", "conf."):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("risks", overflow="fold")
    for r in recs:
        sli = f"latency ≤{r.threshold_ms:g}ms" if r.threshold_ms else r.sli.value
        style = {"approved": "green", "rejected": "red"}.get(r.status.value, "yellow")
        table.add_row(
            r.service,
            sli,
            _pct(r.target),
            _pct(r.attained),
            _pct(r.dependency_ceiling),
            _count(r.events),
            f"{r.confidence:.2f}",
            f"[{style}]{r.status.value}[/]",
            "; ".join(dict.fromkeys(_short_risk(x) for x in r.risks)) or "-",
        )
    return table


def emit(recs: list[Recommendation], fmt: Format, title: str) -> None:
    if fmt is Format.json:
        sys.stdout.write(json.dumps([r.public() for r in recs], indent=2) + "\n")
    else:
        out.print(recommendations_table(recs, title))


def store_resolution(snapshots: list[Any]) -> int:
    """The metric store's step for these snapshots: a minute, or the least common multiple of their windows."""
    resolution = math.lcm(60, *{s.window_seconds for s in snapshots})
    if 86400 % resolution:
        fail(f"snapshot windows {sorted({s.window_seconds for s in snapshots})} do not fit a common step within a day")
    return resolution


def parse_exclusions(values: list[str]) -> list[Any]:
    from slo_engine.slo.exclusions import parse_exclusions as parse

    items = []
    for value in values:
        start, sep, end = value.partition("/")
        if not sep:
            fail(
                f"--exclude takes START/END in RFC 3339 (e.g. 2026-10-03T01:00:00Z/2026-10-03T03:00:00Z), not {value!r}"
            )
        items.append({"start": start, "end": end, "reason": "maintenance"})
    try:
        return parse(items)
    except ValueError as error:
        fail(f"--exclude: {error}")
    return []


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="where results are written")] = Path("out"),
    seed: Annotated[int, typer.Option(help="seed of the synthetic fleet")] = 7,
    days: Annotated[int, typer.Option(min=1, max=90, help="days of history to generate")] = 28,
    approve: Annotated[
        Approve, typer.Option(help="auto approves what no guardrail holds; prompt asks; manual leaves pending")
    ] = Approve.auto,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Generate the sample fleet, run the whole pipeline, print the recommendations, write ./out/."""
    from slo_engine.workflow.demo import run_demo

    with err.status("preparing the sample fleet ...") as status:
        result = run_demo(
            out_dir,
            seed=seed,
            days=days,
            approve=_mode(approve),
            progress=_progress(status),
            log=err.print,
            approver=_approver(approve, status),
        )
    emit(result.recommendations, fmt, f"Recommended SLOs for the sample fleet ({len(result.recommendations)})")
    for note in result.notes:
        err.print(note, highlight=False)


@app.command()
def recommend(
    snapshots: Annotated[Path, typer.Option(help="snapshot JSON Lines (one window of one service per line)")],
    graph: Annotated[Path | None, typer.Option(help="graph file: services and hard/soft dependencies")] = None,
    runbooks: Annotated[Path | None, typer.Option(help="folder of markdown runbooks")] = None,
    window_days: Annotated[int, typer.Option(min=1, max=366, help="SLO window in days")] = 28,
    approve: Annotated[
        Approve, typer.Option(help="auto: approve now; manual: leave pending; prompt: ask at the terminal")
    ] = Approve.manual,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    exclude: Annotated[list[str] | None, typer.Option(help="maintenance window START/END to leave out")] = None,
    data_dir: Annotated[Path, typer.Option(help="where approvals and feedback are kept")] = DEFAULT_DATA_DIR,
) -> None:
    """Recommend SLOs for your own snapshots (and graph, and runbooks)."""
    from slo_engine.config import EngineConfig
    from slo_engine.embedded.metric_store import SqliteMetricStore
    from slo_engine.embedded.state_store import SqliteStateStore
    from slo_engine.engine import Engine
    from slo_engine.ingest.snapshot_file import read_snapshot_file
    from slo_engine.workflow.pipeline import load_graph, load_runbooks, run_workflow

    exclusions = parse_exclusions(exclude or [])
    report = read_snapshot_file(snapshots)
    for problem in report.errors[:50]:
        err.print(f"[yellow]skipped[/] {problem}", highlight=False)
    if len(report.errors) > 50:
        err.print(f"[yellow]... and {len(report.errors) - 50} more bad lines[/]")
    if not report.ok:
        fail(f"{snapshots}: no valid snapshot to recommend from ({len(report.errors)} bad lines)")
    graph_model = None
    if graph is not None:
        from slo_engine.graph.loader import load_graph_file

        try:
            graph_model = load_graph_file(graph)
        except ValueError as error:
            fail(str(error))
    if runbooks is not None and not runbooks.is_dir():
        fail(f"{runbooks}: not a folder of runbooks")
    resolution = store_resolution(report.snapshots)
    config = EngineConfig(window_days=window_days, data_dir=data_dir)
    with tempfile.TemporaryDirectory(prefix="slo-engine-") as scratch:
        engine = Engine.embedded(Path(scratch), config=config, resolution_seconds=resolution, in_memory=True)
        engine.state = SqliteStateStore(data_dir / "state.db")
        assert isinstance(engine.metrics, SqliteMetricStore)
        with err.status("loading snapshots ...") as status:
            written = engine.metrics.write_snapshots(report.snapshots)
            for problem in written.rejected[:50]:
                err.print(f"[yellow]not stored[/] {problem}", highlight=False)
            if written.duplicates:
                err.print(f"[yellow]{written.duplicates} duplicate windows ignored (already counted)[/]")
            if written.written == 0:
                fail(f"{snapshots}: no snapshot could be stored")
            if graph_model is not None:
                load_graph(engine, graph_model)
            if runbooks is not None:
                load_runbooks(engine, runbooks, [s.name for s in (graph_model.services if graph_model else [])])
            result = run_workflow(
                engine,
                approve=_mode(approve),
                window_days=window_days,
                exclusions=exclusions,
                progress=_progress(status),
                approver=_approver(approve, status),
            )
    if result.run.status != "SUCCEEDED":
        fail(f"the workflow failed: {result.run.doc.get('error')}", code=1)
    emit(result.recommendations, fmt, f"Recommended SLOs ({len(result.recommendations)})")
    if approve is Approve.manual and fmt is Format.table:
        err.print("pending ids (decide with `slo-engine approvals decide ID --approve|--reject`):")
        for r in result.recommendations:
            err.print(f"  {r.id}  {r.service} {r.sli.value}", highlight=False)


@approvals_app.command("list")
def approvals_list(
    data_dir: Annotated[Path, typer.Option(help="where approvals are kept")] = DEFAULT_DATA_DIR,
    status: Annotated[str, typer.Option(help="pending, approved, rejected or all")] = "pending",
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """List recommendations waiting for a decision (or all)."""
    from slo_engine.embedded.state_store import SqliteStateStore

    if status not in ("pending", "approved", "rejected", "all"):
        fail("--status must be pending, approved, rejected or all")
    store = SqliteStateStore(data_dir / "state.db")
    recs = store.list_recommendations(status=None if status == "all" else status)
    if fmt is Format.json:
        sys.stdout.write(json.dumps([r.public() for r in recs], indent=2) + "\n")
        return
    out.print(recommendations_table(recs, f"{status} recommendations ({len(recs)})"))
    for r in recs:
        out.print(f"{r.id}  {r.service} {r.sli.value} {r.target:.4%} {r.status.value}", highlight=False)


@approvals_app.command("decide")
def approvals_decide(
    recommendation_id: Annotated[str, typer.Argument(metavar="ID")],
    approve_it: Annotated[bool, typer.Option("--approve/--reject", help="approve or reject")] = ...,  # type: ignore[assignment]
    reason: Annotated[str, typer.Option(help="why")] = "",
    by: Annotated[str, typer.Option(help="who decides (recorded)")] = "",
    data_dir: Annotated[Path, typer.Option(help="where approvals are kept")] = DEFAULT_DATA_DIR,
) -> None:
    """Approve or reject one pending recommendation; recorded with who and why, once."""
    from slo_engine.embedded.state_store import DecisionError, SqliteStateStore
    from slo_engine.models import ApprovalDecision

    if not by.strip():
        fail("--by NAME is required: every decision records who made it")
    store = SqliteStateStore(data_dir / "state.db")
    try:
        decided = store.record_decision(
            ApprovalDecision(recommendation_id=recommendation_id, approved=approve_it, by=by, reason=reason)
        )
    except DecisionError as error:
        fail(str(error))
        return
    out.print(f"{decided.id} {decided.service} {decided.sli.value}: {decided.status.value} by {decided.decided_by}")


@app.command()
def aggregate(
    events: Annotated[Path, typer.Option(help="raw events or collector OTLP JSON exports, JSON Lines")],
    out_path: Annotated[Path, typer.Option("--out", help="snapshot JSON Lines to write")],
    window_seconds: Annotated[int, typer.Option(min=1)] = 10,
    side_output: Annotated[
        Path | None, typer.Option(help="write late and future events (JSON Lines, with the reason) here")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="json: the report on stdout")] = Format.table,
) -> None:
    """Fold raw events into 10-second snapshot lines (the embedded twin of the Flink job)."""
    from slo_engine.ingest.aggregator import aggregate_file

    if not events.is_file():
        fail(f"{events}: no such file")
    report = aggregate_file(events, out_path, window_seconds=window_seconds, side_output_path=side_output)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(report.as_dict(), default=str) + "\n")
    else:
        otlp = f" ({report.points} data points from sidecar exports)" if report.points else ""
        err.print(
            f"{report.lines} lines{otlp}: {report.accepted} accepted, {report.late} late, {report.future} from the "
            f"future, {report.malformed} malformed -> {report.snapshots} snapshots in {out_path}",
            highlight=False,
        )
        for reason, count in report.malformed_reasons.items():
            err.print(f"  {count:>6}  {reason}", highlight=False)
        for _, detail in report.malformed_examples[:5]:
            err.print(f"  [dim]{detail}[/]", highlight=False)
    if report.accepted == 0 and report.lines > report.blank_lines:
        raise typer.Exit(2)  # nothing valid in the file: say so to scripts


@app.command("edge-reduce")
def edge_reduce(
    logs: Annotated[Path, typer.Option(help="a log file (any common format; one entry per line)")],
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Classify each log line by level as the sidecar does: WARN and above kept, TRACE/DEBUG/INFO dropped."""
    from slo_engine.ingest.edge_reducer import reduce_log_file

    if not logs.is_file():
        fail(f"{logs}: no such file")
    result = reduce_log_file(logs).as_dict()
    if fmt is Format.json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    out.print(
        f"{result['lines']} lines: {result['kept']} kept, {result['dropped']} dropped, "
        f"{result['unparsed']} without a recognisable level (kept)",
        highlight=False,
    )
    for level, count in result["by_level"].items():
        out.print(f"  {level:<5} {count}", highlight=False)


@graph_app.command("analyze")
def graph_analyze(
    graph: Annotated[Path, typer.Option(help="graph file")],
    snapshots: Annotated[Path | None, typer.Option(help="snapshot JSON Lines for observed availability")] = None,
    fmt: Annotated[Format, typer.Option("--format")] = Format.json,
) -> None:
    """Cycles, ceilings, fan-in and fan-out of a dependency graph."""
    from slo_engine.graph.analysis import analyze_graph
    from slo_engine.graph.loader import load_graph_file

    try:
        model = load_graph_file(graph)
    except ValueError as error:
        fail(str(error))
        return
    ceilings = None
    if snapshots is not None:
        from slo_engine.agents.relationship import RelationshipDiscoveryAgent
        from slo_engine.engine import Engine
        from slo_engine.ingest.snapshot_file import read_snapshot_file
        from slo_engine.workflow.pipeline import load_graph

        report = read_snapshot_file(snapshots)
        for problem in report.errors[:50]:
            err.print(f"[yellow]skipped[/] {problem}", highlight=False)
        if not report.ok:
            fail(f"{snapshots}: no valid snapshot")
        engine = Engine.embedded(
            in_memory=True, resolution_seconds=max(60, *(s.window_seconds for s in report.snapshots))
        )
        stored = engine.metrics.write_snapshots(report.snapshots)
        for problem in stored.rejected[:50]:
            err.print(f"[yellow]skipped[/] {problem}", highlight=False)
        if stored.written == 0 and stored.duplicates == 0:
            fail(f"{snapshots}: no snapshot could be stored")
        load_graph(engine, model)
        _, ceilings, _ = RelationshipDiscoveryAgent(
            engine.graph, engine.metrics, engine.config.observed_edge_max_age_days
        ).analyze_fleet()
    if ceilings is None:  # nothing observed: no dependency caps, but every service still gets its entry (1.0)
        from slo_engine.graph.ceiling import fleet_ceilings

        ceilings = fleet_ceilings(model, {}, {}, {})
    result = analyze_graph(model, ceilings)
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


RUNBOOK_INDEX_FILE = "runbooks.db"


@runbooks_app.command("index")
def runbooks_index(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="folder of markdown runbooks (recursive)")],
    data_dir: Annotated[Path, typer.Option(help="where the persistent runbook index is kept")] = DEFAULT_DATA_DIR,
    repository: Annotated[str, typer.Option(help="repository name stored with each chunk")] = "local",
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
) -> None:
    """Index every markdown runbook under DIR (unchanged chunks are not re-embedded; skipped files say why)."""
    from slo_engine.embedded.runbook_index import LocalRunbookIndex
    from slo_engine.knowledge.indexing import index_directory
    from slo_engine.knowledge.minilm import default_embedder

    if not folder.is_dir():
        fail(f"{folder}: not a folder of runbooks")
    index = LocalRunbookIndex(data_dir / RUNBOOK_INDEX_FILE, embedder=default_embedder())
    report = index_directory(index, folder, repository=repository)
    for skipped in report.skipped:
        err.print(f"[yellow]skipped[/] {skipped.path}: {skipped.reason}", highlight=False)
    if fmt is Format.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        out.print(
            f"{report.documents} runbooks, {report.chunks} chunks ({report.written} new or changed), "
            f"{len(report.skipped)} skipped, in {report.seconds:.2f}s -> {data_dir / RUNBOOK_INDEX_FILE}",
            highlight=False,
        )
    if report.documents == 0 and report.skipped:
        raise typer.Exit(2)


@runbooks_app.command("search")
def runbooks_search(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="an alert name or a symptom")],
    service: Annotated[str | None, typer.Option(help="only runbooks about this service")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="how many hits")] = 5,
    fmt: Annotated[Format, typer.Option("--format")] = Format.table,
    data_dir: Annotated[Path, typer.Option(help="where the persistent runbook index is kept")] = DEFAULT_DATA_DIR,
) -> None:
    """Hybrid (BM25 + vector) search of the indexed runbooks; --format json prints a JSON array of hits."""
    from slo_engine.embedded.runbook_index import LocalRunbookIndex
    from slo_engine.knowledge.minilm import default_embedder

    if not text.strip():
        fail("TEXT is empty: give an alert name or a symptom")
    path = data_dir / RUNBOOK_INDEX_FILE
    if not path.is_file():
        fail(f"no runbook index at {path}: run `slo-engine runbooks index DIR --data-dir {data_dir}` first")
    hits = LocalRunbookIndex(path, embedder=default_embedder()).search(text, service=service, k=k)
    if fmt is Format.json:
        fields = {"path", "heading", "score", "resolution", "repository", "link"}
        sys.stdout.write(json.dumps([hit.model_dump(mode="json", include=fields) for hit in hits], indent=2) + "\n")
        return
    table = Table(title=f"runbooks for {text!r}", header_style="bold", pad_edge=False)
    for column in ("score", "path", "heading", "minutes to mitigate"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        minutes = hit.resolution.minutes_to_mitigate if hit.resolution else None
        table.add_row(f"{hit.score:.3f}", hit.path, hit.heading, "-" if minutes is None else f"{minutes:g}")
    out.print(table)


class ExportFormat(StrEnum):
    openslo = "openslo"
    prometheus_rules = "prometheus-rules"


EXPORT_FILES = {ExportFormat.openslo: "openslo.yaml", ExportFormat.prometheus_rules: "prometheus-rules.yaml"}


@app.command("export")
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", help="openslo (v1 YAML) or prometheus-rules")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the file into")],
    data_dir: Annotated[Path, typer.Option(help="where approvals are kept")] = DEFAULT_DATA_DIR,
) -> None:
    """Write the approved SLOs as OpenSLO v1 YAML or Prometheus recording and burn-rate alert rules."""
    from slo_engine.embedded.state_store import SqliteStateStore
    from slo_engine.models import RecommendationStatus

    state_file = data_dir / "state.db"
    if not state_file.exists():
        fail(f"{state_file}: no recommendations here (run `slo-engine recommend` first, or pass --data-dir)", 1)
    approved = SqliteStateStore(state_file).list_recommendations(status=RecommendationStatus.APPROVED.value)
    if not approved:
        fail(f"no approved SLOs in {data_dir} (approve some with `slo-engine approvals decide`)", 1)
    if fmt is ExportFormat.openslo:
        from slo_engine.exports.openslo import openslo_yaml

        text = openslo_yaml(approved)
    else:
        from slo_engine.exports.prometheus_rules import prometheus_rules_yaml

        text = prometheus_rules_yaml(approved)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / EXPORT_FILES[fmt]
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        fail(f"{out_dir}: cannot write the export ({error.strerror or error})", 2)
    err.print(f"wrote {len(approved)} approved SLOs to {target}", highlight=False)
    out.print(str(target), highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port (0 picks a free one)")] = 8080,
    data_dir: Annotated[Path, typer.Option(help="the embedded stores to serve")] = DEFAULT_DATA_DIR,
) -> None:
    """Serve the API, the pending-recommendations page and its plots on this machine (docs/api.md)."""
    from slo_engine.server.app import CREDENTIALS_FILE, LocalApiServer, ServeSettings

    try:
        server = LocalApiServer(ServeSettings(host=host, port=port, data_dir=data_dir))
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error}")
        return
    credentials = server.api.credentials
    err.print(f"SLO engine serving {data_dir} at [bold]{server.url}/[/]  (Ctrl-C stops)", highlight=False)
    err.print(f"  sign in at {server.url}/login with any name and the access token {credentials.login_token}")
    for key in credentials.integrations:
        err.print(f"  SigV4 key for {key.team}: {key.access_key_id} (secret in {data_dir / CREDENTIALS_FILE})")
    if not server.api.service.pending() and not server.api.engine.metrics.services():
        err.print("  no data yet: try `slo-engine demo --approve manual --out out` and `--data-dir out/data`")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@app.command()
def discover(
    cloudmap_namespace: Annotated[
        list[str], typer.Option("--cloudmap-namespace", help="AWS Cloud Map namespace to poll (repeatable)")
    ],
    data_dir: Annotated[Path, typer.Option(help="where the inventory and the graph are kept")] = DEFAULT_DATA_DIR,
    fmt: Annotated[Format, typer.Option("--format")] = Format.json,
) -> None:
    """Poll Cloud Map once (AWS credentials from the environment) and map the changes into the local graph."""
    from slo_engine.adapters.aws.cloudmap import CloudMapRegistry
    from slo_engine.discovery.local import discover_once
    from slo_engine.discovery.mapping import StructuralMapper
    from slo_engine.embedded.graph_store import SqliteGraphStore
    from slo_engine.embedded.inventory_store import SqliteInventoryStore
    from slo_engine.embedded.reasoner import DeterministicReasoner
    from slo_engine.embedded.service_documents import LocalServiceDocuments

    try:
        reading = CloudMapRegistry(cloudmap_namespace).read()
    except Exception as error:  # no credentials, no such namespace, no network: say which, exit 2
        fail(f"cannot read Cloud Map: {error}")
        return
    graph = SqliteGraphStore(data_dir / "graph.db")
    run = discover_once(
        reading,
        SqliteInventoryStore(data_dir / "inventory.db"),
        StructuralMapper(graph, DeterministicReasoner()),
        documents=LocalServiceDocuments.in_data_dir(data_dir),
    )
    graph.close()
    for problem in run.poll.problems:
        err.print(f"[yellow]registry[/] {problem.reference}: {problem.problem}", highlight=False)
    if fmt is Format.json:
        sys.stdout.write(json.dumps(run.summary(), indent=2) + "\n")
        return
    p = run.poll
    err.print(f"{p.registered} registered, {p.changed} changed, {p.deregistered} deregistered, {p.unchanged} unchanged")
    for result in run.mapping:
        edges = ", ".join(f"{d.to} ({d.kind}, {d.source})" for d in result.dependencies) or "-"
        print(f"{result.change:<13} {result.service:<30} {edges}")
        for line in [*result.rejected, *result.problems, *result.removed]:
            print(f"{'':<13} {'':<30} ! {line}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
