"""The `jam` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError

from domain.errors import DomainError
from domain.values import Role, Segment
from jam.application import JamApplication
from jam.directory import jam_ids
from jam.errors import ApplicationError
from jam.invites import MAX_INVITES, issue_invites
from jam.settings import Settings, SettingsError


class UsageError(Exception):
    """Bad arguments: printed as a message, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings: Settings | None = None
    try:
        settings = Settings.from_env(
            host=getattr(args, "host", None), port=getattr(args, "port", None)
        )
        if getattr(args, "store", False):
            check_database(settings)
        return int(args.run(args, settings) or 0)
    except (UsageError, SettingsError, DomainError, ApplicationError) as exc:
        print(f"jam: {exc}", file=sys.stderr)
        return 2
    except (OperationalError, InterfaceError) as exc:
        # The database went away after the check above, or refused us in some other way:
        # still one line, with the server's reason if it can be had.
        assert settings is not None  # the settings are read before any connection
        print(f"jam: {database_problem(settings) or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`jam events | head`): nothing more to say, and Python's
        # own flush at exit must not fail on the closed pipe either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a process ended by SIGPIPE
    except OSError as exc:
        # The data folder cannot be made or read (a file there, no permission...).
        print(f"jam: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except Exception as exc:
        # The read models' database refused a statement (a deadlock, a lock timeout, a
        # lost connection...): what the server said, in one line, not a traceback.
        if not _store_error(exc):
            raise
        assert settings is not None
        print(f"jam: {database_problem(settings) or _one_line(exc)}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jam", description="OpenJam: run idea jams (settings: OPENJAM_* variables)."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="seed a demo jam (72 hours, begun two hours ago) and serve it"
    )
    _add_server_args(demo)
    demo.add_argument("--no-serve", action="store_true", help="seed and print, but do not serve")
    demo.set_defaults(run=_demo)

    serve = sub.add_parser("serve", help="serve the web app on the configured store")
    _add_server_args(serve)
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="web worker processes (more than 1 needs Redis)",
    )
    serve.set_defaults(run=_serve)

    invite = sub.add_parser("invite", help="print new invite codes, one per line")
    invite.add_argument("--role", required=True, choices=[r.value for r in Role])
    invite.add_argument(
        "--jam",
        type=_uuid,
        help="the jam (not needed for organizers, nor when the store holds one jam)",
    )
    invite.add_argument(
        "--segment",
        default="employee",
        choices=[s.value for s in Segment],
        help="the segment of whoever joins with the codes (default employee)",
    )
    invite.add_argument(
        "--count",
        type=_invite_count,
        default=1,
        help=f"how many codes, at most {MAX_INVITES} (default 1)",
    )
    invite.add_argument("--uses", type=_positive, default=1, help="people per code (default 1)")
    invite.set_defaults(store=True, run=_invite)

    projections = sub.add_parser("projections", help="inspect or rebuild the read models")
    projections_sub = projections.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = projections_sub.add_parser("rebuild", help="rebuild every read model from the log")
    rebuild.set_defaults(store=True, run=_projections_rebuild)
    status = projections_sub.add_parser("status", help="how far the read models have got")
    status.set_defaults(store=True, run=_projections_status)

    imports = sub.add_parser("import", help="replay another tool's export as a new jam")
    imports_sub = imports.add_subparsers(dest="source", required=True, metavar="SOURCE")
    polis = imports_sub.add_parser(
        "polis", help="a Pol.is open-data export (comments.csv, votes.csv, summary.csv)"
    )
    polis.add_argument("folder", metavar="DIR", help="the conversation's export folder")
    polis.add_argument(
        "--segment",
        default=Segment.CLIENT.value,
        choices=[s.value for s in Segment],
        help="the segment of every Pol.is participant (default client)",
    )
    polis.set_defaults(store=True, run=_import_polis)

    worker = sub.add_parser("worker", help="run a background worker until SIGTERM")
    worker.add_argument(
        "role",
        choices=["projections", "ranking"],
        help="projections: keep the read models and publish live updates; "
        "ranking: refresh topic clusters and the shortlist",
    )
    worker.set_defaults(run=_worker)

    events = sub.add_parser("events", help="show the event log in a readable form")
    events.add_argument("--from", dest="start", type=_positive, default=1, help="first position")
    events.add_argument("--limit", type=_positive, help="show at most this many events")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    events.set_defaults(store=True, run=_events)
    return parser


def _add_server_args(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(store=True)
    parser.add_argument(
        "--host", help="interface to listen on (default: OPENJAM_HOST, else 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, help="port to listen on (default: OPENJAM_PORT, else 8000)"
    )


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a jam id: {value!r}") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _invite_count(value: str) -> int:
    number = _positive(value)
    if number > MAX_INVITES:
        # As the API: more would keep one transaction (and the terminal) busy for long.
        raise argparse.ArgumentTypeError(
            f"at most {MAX_INVITES} codes at a time, got {value}: run it again for more"
        )
    return number


def _port(value: str) -> int:
    number = _positive(value)
    if number > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {value}")
    return number


# The database
class DatabaseUnreachable(UsageError):
    """PostgreSQL cannot be reached with the configured URL; the message says why."""


def check_database(settings: Settings) -> None:
    """Raise `DatabaseUnreachable` at once, with the server's reason, rather than
    after the connection pool's timeout with only "couldn't get a connection"."""
    problem = database_problem(settings)
    if problem:
        raise DatabaseUnreachable(problem)


def database_problem(settings: Settings) -> str | None:
    """Why one connection to the configured PostgreSQL fails, or None if it works
    (and always None on the embedded SQLite store)."""
    if settings.database_url is None:
        return None
    from jam.stores.postgres import connection_problem

    return connection_problem(settings.database_url)


def _store_error(exc: BaseException) -> bool:
    """Whether `exc` is the database's: psycopg's errors (never imported unless the store
    is PostgreSQL) and SQLite's operational ones (locked, read-only, disk I/O)."""
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        return True
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(exc, sqlite3.OperationalError)


def _one_line(exc: BaseException) -> str:
    """The error's name and first line: the server's DETAIL and CONTEXT lines left out."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# Commands
def _invite(args: argparse.Namespace, settings: Settings) -> int:
    with JamApplication(settings) as app:
        jam_id = args.jam
        if args.role != Role.ORGANIZER and jam_id is None:
            jam_id = _only_jam(app)
        # All recorded in one step before any is shown: a run stopped midway (Ctrl-C, a
        # kill, a lost database) leaves no valid code that nobody saw.
        codes = issue_invites(
            app, args.count, role=args.role, segment=args.segment, jam_id=jam_id, uses=args.uses
        )
    print("\n".join(codes))
    return 0


def _only_jam(app: JamApplication) -> UUID:
    ids = jam_ids(app)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise UsageError("there is no jam yet: an organizer creates one first")
    raise UsageError(
        f"there are {len(ids)} jams; say which with --jam (one of: {', '.join(map(str, ids))})"
    )


def _events(args: argparse.Namespace, settings: Settings) -> int:
    with JamApplication(settings) as app:
        for shown, notification in enumerate(_tail(app, args.start, follow=args.follow), 1):
            print(_format(app, notification, as_json=args.json), flush=True)
            if args.limit and shown >= args.limit:
                break
    return 0


def _tail(app: JamApplication, start: int, *, follow: bool) -> Iterator[Notification]:
    position = start
    while True:
        page = app.recorder.select_notifications(position, 500)
        yield from page
        if page:
            position = page[-1].id + 1
            continue
        if not follow:
            return
        time.sleep(0.5)


def _format(app: JamApplication, notification: Notification, *, as_json: bool) -> str:
    event = app.mapper.to_domain_event(notification)
    fields = {
        k: _plain(v)
        for k, v in vars(event).items()
        if k not in ("originator_id", "originator_version", "timestamp", "originator_topic")
    }
    name = type(event).__qualname__
    when = event.timestamp.isoformat()  # type: ignore[attr-defined]
    if as_json:
        return json.dumps(
            {
                "position": notification.id,
                "event": name,
                "at": when,
                "id": str(notification.originator_id),
                "version": notification.originator_version,
                **fields,
            },
            ensure_ascii=False,
        )
    details = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
    origin = f"{str(notification.originator_id)[:8]} v{notification.originator_version}"
    return f"#{notification.id:<7} {when[:19]}  {name:<26} {origin}  {details}"


def _plain(value: Any) -> Any:
    if isinstance(value, (UUID, datetime)):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _short(value: Any) -> str:
    if isinstance(value, str):
        if len(value) == 36 and value.count("-") == 4:
            return value[:8]  # an id: its first block is enough to follow it by eye
        text = value.replace("\n", " ")
        return repr(text[:60] + "…" if len(text) > 60 else text)
    return json.dumps(value, ensure_ascii=False)


def _import_polis(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from jam.polis import import_conversation, read_conversation

    conversation = read_conversation(Path(args.folder))  # all checked before any write
    with JamApplication(settings) as app:
        done = import_conversation(
            app,
            conversation,
            segment=args.segment,
            progress=lambda step: print(f"  {step}...", file=sys.stderr, flush=True),
        )
    skipped = (
        f" ({done.skipped_comments} empty comment(s) skipped with {done.skipped_votes} vote rows)"
        if done.skipped_comments
        else ""
    )
    print(
        f"Imported {conversation.key} as jam {done.jam_id}: {done.title}\n"
        f"  ideas:        {done.ideas:,} ({done.hidden:,} hidden: moderated out in Pol.is)"
        f"{skipped}\n"
        f"  votes:        {done.votes:,} agree/disagree, from {done.vote_rows:,} vote rows\n"
        f"  passes:       {done.passes:,}\n"
        f"  participants: {done.participants:,}\n"
        f"  window:       {done.starts_at:%Y-%m-%d %H:%M} to {done.ends_at:%Y-%m-%d %H:%M} UTC\n"
        f"  took {done.seconds:.1f} s\n"
        f"Open it: `jam invite --role leader --jam {done.jam_id}` for a sign-in code, then\n"
        f"`jam serve` and http://{settings.host}:{settings.port}/jams/{done.jam_id}"
    )
    return 0


def _projections_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from ui.bootstrap import build

    services = build(settings)
    try:
        bar = ProgressBar(sys.stderr)
        started = time.perf_counter()
        try:
            position = services.runner.rebuild(progress=bar.update)
        except Exception as exc:
            if not _store_error(exc):
                raise
            bar.finish()
            # Whatever it stopped at is undone by the next rebuild: the first step (emptying
            # the read models and marking them) commits whole or not at all, and the mark
            # stays until a rebuild completes, so nothing projects into half-built tables.
            problem = database_problem(settings) or _one_line(exc)
            raise UsageError(
                f"the rebuild stopped: {problem}; run `jam projections rebuild` again"
            ) from None
        bar.finish()
        elapsed = time.perf_counter() - started
        rate = position / elapsed if elapsed > 0 else 0
        print(
            f"Rebuilt the read models from {position:,} events in {elapsed:.1f} s ({rate:,.0f}/s)."
        )
    finally:
        services.close()
    return 0


def _projections_status(args: argparse.Namespace, settings: Settings) -> int:
    from ui.bootstrap import build

    services = build(settings)
    try:
        log_end, done = services.jam.position(), services.runner.position
        print(f"log position {log_end:,}; read models at {done:,} ({log_end - done:,} behind)")
        if services.runner.rebuild_marked():
            print(
                "the read models are marked as being rebuilt: nothing projects until a rebuild "
                "completes. If no `jam projections rebuild` is running, the last one was "
                "interrupted: run it again."
            )
    finally:
        services.close()
    return 0


class ProgressBar:
    """A one-line progress bar, redrawn at most ten times a second."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._started = time.perf_counter()
        self._drawn = 0.0

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._drawn < 0.1 and done < total:
            return
        self._drawn = now
        share = done / total if total else 1.0
        filled = int(self._width * share)
        rate = done / max(now - self._started, 1e-9)
        bar = "#" * filled + "-" * (self._width - filled)
        self._stream.write(f"\r[{bar}] {share:6.1%} {done:,}/{total:,} events {rate:,.0f}/s")
        self._stream.flush()

    def finish(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ui.server import ServeError, serve

    try:
        serve(settings, workers=args.workers)
    except ServeError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from jam.worker import WorkerUnavailable, run
    from ui.workers import project, rank

    body = project if args.role == "projections" else rank
    try:
        return run(args.role, body, settings)
    except WorkerUnavailable as exc:
        raise UsageError(str(exc)) from None


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from jam.demo import seed_or_reuse
    from ui.server import ServeError, check_port, serve

    if not args.no_serve:
        try:
            check_port(settings.host, settings.port)  # before seeding, not after
        except ServeError as exc:
            raise UsageError(str(exc)) from None
    with JamApplication(settings) as app:
        demo = seed_or_reuse(app, progress=lambda msg: print(msg, flush=True))
    base = f"http://{settings.host}:{settings.port}"
    print(demo.describe(base), flush=True)
    if args.no_serve:
        return 0
    try:
        serve(settings)
    except ServeError as exc:  # the port was taken while the demo was seeded
        raise UsageError(str(exc)) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
