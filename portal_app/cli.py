"""The `portal` command: serve, db upgrade, demo-seed, audit verify, idcard verify, run."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the commands import the service lazily, so `portal --help` starts fast
    from sqlalchemy.orm import Session

    from services.audit.checkpoints import CheckpointReport
    from services.bootstrap import Container
    from services.config import ServiceSettings


def _settings(args: argparse.Namespace) -> ServiceSettings:
    from services.config import ServiceSettings

    overrides = {}
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return ServiceSettings.load(**overrides)


def _refuse_without_shared_secrets(command: str, settings: ServiceSettings, args: argparse.Namespace) -> bool:
    """True (and a message on stderr) when PostgreSQL is configured without the shared secrets."""
    from portal_app.serving import refusal_message, shared_secret_problems

    if settings.is_sqlite or args.single_instance:
        return False
    problems = shared_secret_problems(settings.jwt_secret)
    if problems:
        print(refusal_message(command, problems), file=sys.stderr)
    return bool(problems)


def cmd_serve(args: argparse.Namespace) -> int:
    import os

    from portal_app.serving import SERVE_URL_ENV, prepare_multiprocess_metrics, serve_workers

    settings = _settings(args)
    if _refuse_without_shared_secrets("serve", settings, args):
        return 2
    if args.workers < 1:
        print("portal serve: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1:
        if settings.is_sqlite:
            print(
                "portal serve: --workers > 1 needs PostgreSQL (PORTAL_DATABASE_URL=postgresql+psycopg://...):"
                " the embedded SQLite database takes one writer process and its live feed does not"
                " cross processes. Run one worker, or move the data with `portal db copy --to URL`.",
                file=sys.stderr,
            )
            return 2
        # Before anything imports prometheus_client: the workers share their metrics through files.
        prepare_multiprocess_metrics()
    if not settings.jwt_secret:
        print(
            "note: PORTAL_JWT_SECRET is not set; access tokens are signed with a per-process key "
            "(set it when running more than one instance)",
            file=sys.stderr,
        )

    import uvicorn

    from services.api.app import create_app
    from services.bootstrap import build
    from services.runtime import prepare

    container = build(settings)
    prepare(container, seed=args.seed_demo)
    base_url = f"http://{args.host}:{args.port}"
    log_config = None if _log_format == "json" else uvicorn.config.LOGGING_CONFIG
    if args.workers > 1:
        container.db.dispose()
        # Workers read their settings from the environment: pass on what came from the command line.
        os.environ.update(
            {"PORTAL_DATABASE_URL": settings.database_url, "PORTAL_DATA_DIR": str(settings.data_dir)}
        )
        os.environ[SERVE_URL_ENV] = base_url
        os.environ["PORTAL_LOG_LEVEL"] = args.log_level
        return serve_workers(
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            log_config=log_config,
        )
    # With no Stripe key, localstripe (started on first use) posts its webhooks here.
    container.extras["payments"].on_serving(base_url)  # type: ignore[attr-defined]
    uvicorn.run(
        create_app(container),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config,
        ws="websockets-sansio",
        # The service process owns its loop: httptools parses HTTP in C and uvloop runs the loop
        # (uvicorn[standard], see docs/PERFORMANCE.md). "auto" picks them wherever they install
        # (uvloop does not exist on Windows). The embedded default keeps plain asyncio.
        http="auto",
        loop="auto",
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from services.db.database import make_engine
    from services.db.migrate import current_revisions
    from services.runtime import migrate

    settings = _settings(args)
    engine = make_engine(settings.database_url)
    migrate(engine)
    print(f"database at revision {', '.join(current_revisions(engine))}")
    return 0


def cmd_db_copy(args: argparse.Namespace) -> int:
    """Copy the embedded database (and its blobs) into an empty PostgreSQL database and object store."""
    import time

    from sqlalchemy import select

    from services.audit.checkpoints import verify_checkpoints
    from services.audit.models import AuditChainHead
    from services.audit.service import verify_chains
    from services.blobs import open_blob_store
    from services.db.copy import CopyRefused, copy_database
    from services.db.database import Database, make_engine
    from services.db.migrate import upgrade

    settings = _settings(args)
    target_url = args.to
    if not target_url.startswith("postgresql"):
        print("portal db copy: --to must be a PostgreSQL URL (postgresql+psycopg://...)", file=sys.stderr)
        return 2
    source = make_engine(settings.database_url)
    target = make_engine(target_url)
    source_blobs = target_blobs = None
    if args.blobs:
        source_blobs = open_blob_store(settings.blob_url, settings.data_dir)
        target_blobs = open_blob_store(args.blobs, settings.data_dir)
    started = time.perf_counter()
    try:
        from services.db.copy import non_empty_tables

        # Refuse before migrating anything: the target must be a new, empty database.
        busy = non_empty_tables(target)
        if busy:
            raise CopyRefused(
                f"the target database is not empty (rows in {', '.join(sorted(busy)[:8])}); "
                "copy only into a new, empty database"
            )
        upgrade(source)
        upgrade(target)
        print(
            f"copying {source.url.render_as_string(hide_password=True)} -> "
            f"{target.url.render_as_string(hide_password=True)}"
        )
        report = copy_database(
            source, target, source_blobs=source_blobs, target_blobs=target_blobs, progress=print
        )
    except CopyRefused as exc:
        print(f"portal db copy: refused: {exc}", file=sys.stderr)
        return 2
    print(f"{'table':<34} {'source':>9} {'target':>9}")
    for t in (*report.tables, *report.blobs):
        print(f"{t.name:<34} {t.source:>9} {t.target:>9}{'' if t.matches else '  MISMATCH'}")
    print(f"{report.rows} rows copied in {report.seconds:.1f} s")
    if not args.blobs:
        print(
            f"note: blobs were not copied; point the target's PORTAL_BLOB_URL at file://{settings.data_dir}"
            " or run again with --blobs URL"
        )
    # The audit trail on the target: every chain recomputed, heads and checkpoints as in the source.
    source_db, target_db = Database(source), Database(target)
    with source_db.read() as src, target_db.read() as dst:
        heads = [
            sorted((h.chain_key, h.length, h.last_hash) for h in x.scalars(select(AuditChainHead)))
            for x in (src, dst)
        ]
        chains = verify_chains(dst)
        seals = verify_checkpoints(dst, trusted_key_ids=None)
    problems = [*chains.problems, *seals.problems]
    same_heads = heads[0] == heads[1]
    print(
        f"audit on the target: {chains.events} events in {chains.chains} chains "
        f"{'verified' if not chains.problems else 'BROKEN'}; chain heads "
        f"{'identical to the source' if same_heads else 'DIFFER from the source'}; "
        f"{seals.checkpoints} checkpoint(s) {'verify' if not seals.problems else 'FAIL'}"
    )
    for problem in problems:
        print(f"BROKEN: {problem.describe()}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    source.dispose()
    target.dispose()
    return 0 if not report.mismatched and not problems and same_heads else 1


def demo_sign_ins_json() -> list[dict[str, str]]:
    from services.demo import DEMO_PASSWORD, DEMO_SIGN_INS

    return [
        {"email": s.email, "password": DEMO_PASSWORD, "role": s.role, "name": s.full_name, "note": s.note}
        for s in DEMO_SIGN_INS
    ]


def print_demo_sign_ins(out: TextIO = sys.stdout) -> None:
    rows = demo_sign_ins_json()
    print(f"Demo sign-ins (password for all: {rows[0]['password']})", file=out)
    for r in rows:
        print(f"  {r['email']:<28} {r['role']:<13} {r['note']}", file=out)


def cmd_demo_seed(args: argparse.Namespace) -> int:
    from services.bootstrap import build
    from services.runtime import prepare

    container = build(_settings(args))
    created = prepare(container, seed=True)
    if args.json:
        print(json.dumps({"created": created, "sign_ins": demo_sign_ins_json()}, indent=2))
    else:
        print("demo data created" if created else "demo data already present; nothing changed")
        print_demo_sign_ins()
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    import os
    import time

    from services.audit.service import verify_chains
    from services.db.database import Database, make_engine

    settings = _settings(args)
    db = Database(make_engine(settings.database_url))
    started = time.perf_counter()
    with db.read() as session:
        # Large trails are verified chain by chain in one process per CPU.
        report = verify_chains(session, account_id=args.account, workers=os.cpu_count() or 1)
        seals, trusted_note = _verify_checkpoints(session, settings, args)
    elapsed = time.perf_counter() - started
    broken = {p.chain_key for p in report.problems}
    problems = report.problems + [p for p in seals.problems if p.chain_key not in broken]
    if not problems:
        print(
            f"OK: {report.events} events in {report.chains} chains verified in {elapsed:.2f} s; "
            f"{seals.checkpoints} signed checkpoint(s) match ({trusted_note})"
        )
        return 0
    for problem in problems:
        print(f"BROKEN: {problem.describe()}")
    print(f"{len(problems)} broken chain(s) of {report.chains}; {report.events} events read")
    return 1


def _verify_checkpoints(
    session: Session, settings: ServiceSettings, args: argparse.Namespace
) -> tuple[CheckpointReport, str]:
    """Checkpoints against the trusted key: --public-key, else the service's key (env/keyring)."""
    from services.audit.checkpoints import key_id_of, load_audit_key, verify_checkpoints

    if args.public_key:
        trusted, note = {key_id_of(args.public_key)}, "against the given public key"
    else:
        key = load_audit_key(settings.data_dir, generate=False)
        if key is not None:
            trusted, note = {key.key_id}, f"against the service key {key.key_id} from the {key.source}"
        else:
            trusted, note = None, "signatures checked; no trusted key here, pass --public-key to pin one"
    return verify_checkpoints(session, account_id=args.account, trusted_key_ids=trusted), note


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Write an account's evidence pack (PDF, events, checkpoints, public key, verifier) to a folder."""
    import time
    from datetime import date

    from services.actor import Actor
    from services.audit.checkpoints import load_audit_key
    from services.audit.export import export_dispute_evidence
    from services.clock import SystemClock
    from services.db.database import Database, make_engine
    from services.db.migrate import upgrade
    from services.errors import DomainError

    settings = _settings(args)
    key = load_audit_key(settings.data_dir, generate=False)
    if key is None:
        print(
            "ERROR: no audit signing key (set PORTAL_AUDIT_SIGNING_KEY or run where the service keeps "
            "its key in the OS keyring); a pack signed with a throw-away key would prove nothing",
            file=sys.stderr,
        )
        return 2
    db = Database(make_engine(settings.database_url))
    upgrade(db.engine)
    started = time.perf_counter()
    try:
        with db.write() as session:
            pack = export_dispute_evidence(
                session,
                Actor.system("Evidence export (portal CLI)"),
                SystemClock(),
                key,
                account_id=args.account,
                date_from=date.fromisoformat(args.date_from) if args.date_from else None,
                date_to=date.fromisoformat(args.date_to) if args.date_to else None,
            )
    except DomainError as exc:
        print(f"ERROR: {exc.code}: {exc.detail}", file=sys.stderr)
        return 2
    out = pack.write(Path(args.out))
    print(
        f"evidence pack for {args.account}: {pack.events_in_range} events in the period, "
        f"{pack.events_total} sealed, {pack.pdf_pages} PDF page(s) -> {out} "
        f"({time.perf_counter() - started:.2f} s)"
    )
    return 0


def cmd_audit_verify_pack(args: argparse.Namespace) -> int:
    """Check an evidence pack on its own (the same code as the verify_pack.py inside it)."""
    from services.audit.verify_pack import main as verify_main

    return verify_main([args.pack] + (["--public-key", args.public_key] if args.public_key else []))


def cmd_idcard_verify(args: argparse.Namespace) -> int:
    """Ask a running service whether an ID card's code is genuine (exit 0 only when valid)."""
    import os

    import httpx

    server = (args.server or os.environ.get("PORTAL_SERVER_URL") or "http://127.0.0.1:8765").rstrip("/")
    try:
        r = httpx.get(f"{server}/api/v1/id-cards/verify", params={"code": args.code}, timeout=15)
    except httpx.TransportError as exc:
        print(f"UNREACHABLE: {server}: {exc}", file=sys.stderr)
        return 2
    body = r.json()
    if r.status_code != 200:
        print(f"ERROR {r.status_code}: {body.get('code')}: {body.get('detail')}", file=sys.stderr)
        return 2
    status = body["status"]
    if status == "forged":
        print("FORGED: this code was not issued by us or has been altered")
        return 1
    reason = f" ({body['status_reason'].replace('_', ' ')})" if body.get("status_reason") else ""
    print(
        f"{status.upper()}{reason}: policy {body['policy_number']}, {body['vehicle']} (VIN {body['vin']}), "
        f"{body['valid_from']} to {body['valid_to']}; checked {body['checked_at']}"
    )
    return 0 if status == "valid" else 1


def cmd_jobs(args: argparse.Namespace) -> int:
    """Run due background jobs: once (`--once`), or until interrupted."""
    import signal
    import threading

    from services.bootstrap import build
    from services.jobs.kinds import build_registry
    from services.jobs.runner import JobRunner
    from services.runtime import migrate

    settings = _settings(args)
    if _refuse_without_shared_secrets("jobs", settings, args):
        return 2
    container = build(settings)
    migrate(container.db.engine)
    if args.metrics_port is not None:
        _serve_runner_metrics(container, args.metrics_host, args.metrics_port)
    runner = JobRunner(
        container.db,
        container.clock,
        build_registry(container),
        lease_seconds=args.lease,
        workers=args.workers,
    )
    payments = container.extras.get("payments")
    try:
        if args.once:
            ran = runner.run_once()
            print(f"ran {ran} job(s)")
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        runner.run_forever(stop, args.poll)
        return 0
    finally:
        if payments is not None:
            payments.close()  # type: ignore[attr-defined]
        container.db.dispose()


def _serve_runner_metrics(container: Container, host: str, port: int) -> None:
    """The runner's own /metrics (its charges and deliveries, and the queue) on a small HTTP server."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from services.observability.metrics import Metrics

    found = container.extras["metrics"]
    assert isinstance(found, Metrics)  # bootstrap hangs one on every runner's container
    metrics: Metrics = found  # declared, so the handler class below sees the narrowed type

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body, content_type = metrics.render()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # scrapes are not worth a log line each
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="portal-jobs-metrics", daemon=True).start()
    url = f"http://{host}:{server.server_address[1]}/metrics"
    # Through logging, so PORTAL_LOG_FORMAT=json keeps every line JSON.
    announce = logging.getLogger("portal.jobs")
    announce.setLevel(logging.INFO)
    announce.info("job runner metrics at %s", url)


def cmd_secrets_new(args: argparse.Namespace) -> int:
    """Print a fresh set of the secrets every instance shares, as environment assignments."""
    from portal_app.serving import new_secrets

    for name, value in new_secrets().items():
        print(f"{name}={value}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from portal_app.settings import AppSettings

    settings = AppSettings.load(
        server_url=args.server, data_dir=Path(args.data_dir) if args.data_dir else None
    )
    service = None
    if settings.server_url is None:
        # Before Qt and the UI modules load: the service child imports, migrates and seeds meanwhile.
        from portal_app.service_process import ServiceProcess

        service = ServiceProcess(settings.data_dir, jobs_in_process=True)
        service.spawn()
        print_demo_sign_ins()
    from ui.app import run

    return run(settings.server_url, data_dir=settings.data_dir, service=service)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal", description="Portal: insurance self-service and its service layer"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def db_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--database-url", help="SQLAlchemy URL (default: PORTAL_DATABASE_URL or a SQLite file)"
        )
        p.add_argument("--data-dir", help="where the embedded default keeps its files")

    def single_instance_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--single-instance",
            action="store_true",
            help="on PostgreSQL, start without the shared secrets (the only process on the database)",
        )

    p = sub.add_parser("serve", help="run the service (HTTP + WebSocket)")
    db_options(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed-demo", action="store_true", help="seed the demo world when the database is empty")
    p.add_argument("--log-level", default="info")
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes on one port (more than 1 needs PostgreSQL)"
    )
    single_instance_option(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="database maintenance")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations (alembic)")
    db_options(up)
    up.set_defaults(func=cmd_db_upgrade)
    cp = dbsub.add_parser(
        "copy", help="copy the embedded database (and its blobs) into an empty PostgreSQL database"
    )
    db_options(cp)
    cp.add_argument("--to", required=True, help="the target: postgresql+psycopg://user@host/db (empty)")
    cp.add_argument("--blobs", help="the target blob store: s3://bucket?endpoint=... or file:///path")
    cp.set_defaults(func=cmd_db_copy)

    p = sub.add_parser("demo-seed", help="create the demo world (idempotent)")
    db_options(p)
    p.add_argument("--json", action="store_true", help="print the demo sign-ins as JSON")
    p.set_defaults(func=cmd_demo_seed)

    p = sub.add_parser("audit", help="audit trail tools")
    asub = p.add_subparsers(dest="audit_command", required=True)
    ver = asub.add_parser("verify", help="recompute every hash chain; exit 1 on the first break")
    db_options(ver)
    ver.add_argument("--account", help="only this account's chain")
    ver.add_argument("--public-key", help="trust only checkpoints signed by this Ed25519 key (base64)")
    ver.set_defaults(func=cmd_audit_verify)
    exp = asub.add_parser("export", help="write an account's evidence pack to a folder")
    db_options(exp)
    exp.add_argument("--account", required=True, help="the account id")
    exp.add_argument("--from", dest="date_from", help="first day (YYYY-MM-DD, policy local time)")
    exp.add_argument("--to", dest="date_to", help="last day (YYYY-MM-DD, policy local time)")
    exp.add_argument("--out", required=True, help="folder to write the pack into")
    exp.set_defaults(func=cmd_audit_export)
    vp = asub.add_parser("verify-pack", help="check an evidence pack on its own; exit 1 if it fails")
    vp.add_argument("pack", help="the pack's folder")
    vp.add_argument("--public-key", help="the insurer's public key (base64), fetched independently")
    vp.set_defaults(func=cmd_audit_verify_pack)

    p = sub.add_parser("idcard", help="ID card tools")
    isub = p.add_subparsers(dest="idcard_command", required=True)
    iv = isub.add_parser("verify", help="check an ID card's QR code: valid, expired, revoked or forged")
    iv.add_argument("code", help="the code from the card's QR (starts PMIC1.)")
    iv.add_argument("--server", help="URL of the Portal service (default: PORTAL_SERVER_URL)")
    iv.set_defaults(func=cmd_idcard_verify)

    p = sub.add_parser("jobs", help="run due background jobs (payments, reminders, grace periods)")
    db_options(p)
    p.add_argument("--once", action="store_true", help="run what is due now, then exit")
    p.add_argument("--poll", type=float, default=2.0, help="seconds between passes (default 2)")
    p.add_argument(
        "--lease", type=float, default=120.0, help="seconds before a dead runner's job is taken over"
    )
    p.add_argument("--workers", type=int, default=4, help="jobs run at once (default 4)")
    p.add_argument("--metrics-port", type=int, help="serve this runner's Prometheus metrics on this port")
    p.add_argument("--metrics-host", default="127.0.0.1", help="--metrics-port address")
    single_instance_option(p)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("secrets", help="the secrets every instance of a deployment shares")
    ssub = p.add_subparsers(dest="secrets_command", required=True)
    sn = ssub.add_parser("new", help="print a fresh JWT secret and both signing keys")
    sn.set_defaults(func=cmd_secrets_new)

    p = sub.add_parser("run", help="start the desktop app (embedded service unless --server)")
    p.add_argument("--server", help="URL of a running Portal service")
    p.add_argument("--data-dir", help="where the embedded default keeps its files")
    p.set_defaults(func=cmd_run)
    return parser


_log_format = "text"


def main(argv: Sequence[str] | None = None) -> int:
    global _log_format
    from services.observability.logs import configure_logging, log_format

    try:
        _log_format = log_format()
    except ValueError as exc:
        print(f"portal: {exc}", file=sys.stderr)
        return 2
    configure_logging(logging.WARNING, _log_format)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
