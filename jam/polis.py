"""Pol.is import: a conversation's open-data export replayed as a new jam.

The export (github.com/compdemocracy/openData) has `comments.csv` and `votes.csv`,
and optionally `summary.csv` (topic, url, description). Every row becomes a command
handled by `JamApplication.handle` at its original time, so the jam's log reads as
if the conversation had happened in OpenJam:

- each Pol.is participant joins (with an invite of their own, in one segment) at
  their first comment or vote, as "Participant <id>";
- each comment becomes an idea in the jam's one forum, titled by its first words;
- votes use the export's convention, 1 agree, -1 disagree, 0 pass; rows for the same
  comment and voter are replayed in time order, so the latest is the standing vote;
  a pass is recorded as a pass (`PassIdea`): seen, never support;
- comments moderated out in Pol.is (moderated = -1) are posted and then hidden at the
  conversation's end, with the votes they drew, since the export does not say when
  they were moderated; comments with no text are skipped together with their votes.

The whole export is read and checked, against the same rules and limits the commands
will apply, before the first write. Every id is derived from the conversation (its URL,
else the files' content) and Pol.is's own ids, so an import that was interrupted can be
rerun: it writes only what is missing. A finished import is not imported again.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid5

from domain import Jam, Participant
from domain.errors import DomainError, InvalidText
from domain.jam import Forum
from domain.text import BODY_MAX, NAME_MAX, REASON_MAX, TITLE_MAX, normalise, require_text
from domain.values import Segment, parse_enum, vote_id
from jam import commands as c
from jam.application import JamApplication
from jam.clock import system_clock
from jam.errors import ApplicationError
from jam.invites import new_invite_code

POLIS_NAMESPACE = UUID("5d6b0f0e-2f43-4c1e-8a0b-7f3e4f1c9b21")
MODERATED_OUT = "moderated out in Pol.is"
ATTRIBUTION = (
    "Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed "
    "under CC BY 4.0 with Attribution to The Computational Democracy Project."
)
COMMENT_COLUMNS = ("timestamp", "comment-id", "author-id", "moderated", "comment-body")
VOTE_COLUMNS = ("timestamp", "comment-id", "voter-id", "vote")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Pol.is began in the 2010s: an earlier time is most likely seconds given for milliseconds.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Created and joined by the importer just before the conversation's first activity.
SETUP_LEAD = timedelta(minutes=1)
ORGANIZER_NAME = "Pol.is import"


class PolisFormatError(ApplicationError):
    """The export is missing something or has a bad row; nothing was written."""

    code = "polis_format"


class AlreadyImported(ApplicationError):
    code = "already_imported"


@dataclass(frozen=True)
class PolisComment:
    comment_id: int
    author_id: int
    at: datetime
    moderated_out: bool
    title: str
    body: str


@dataclass(frozen=True)
class PolisVote:
    comment_id: int
    voter_id: int
    at: datetime
    value: int  # 1 agree, -1 disagree, 0 pass


@dataclass(frozen=True)
class Conversation:
    key: str  # the conversation's URL, or a digest of its files
    topic: str
    description: str  # the jam's: the conversation's own, its source and the attribution
    slug: str
    comments: tuple[PolisComment, ...]
    votes: tuple[PolisVote, ...]  # in time order (file order among equal times)
    skipped_comments: int
    skipped_votes: int


@dataclass(frozen=True)
class ImportResult:
    jam_id: UUID
    title: str
    ideas: int
    hidden: int
    votes: int  # standing agree / disagree votes
    passes: int  # standing passes
    vote_rows: int
    participants: int
    skipped_comments: int
    skipped_votes: int
    starts_at: datetime
    ends_at: datetime
    seconds: float
    resumed: bool = False  # an interrupted import of the conversation was finished


def display_name(polis_id: int) -> str:
    return f"Participant {polis_id}"


# Reading and checking the export.
def read_conversation(folder: Path, *, now: datetime | None = None) -> Conversation:
    """Read and check a whole export; raise PolisFormatError naming the file and line.

    Everything the import's commands will check is checked here, so that an export
    which reads without error imports without error. Times after `now` are refused.
    """
    if not folder.is_dir():
        raise PolisFormatError(f"{folder} is not a folder")
    now = now or system_clock()
    summary = _read_summary(folder / "summary.csv")
    comments, skipped = _read_comments(folder / "comments.csv", now)
    posted = {cm.comment_id: cm.at for cm in comments}
    votes, skipped_votes = _read_votes(folder / "votes.csv", posted, skipped, now)
    if not comments:
        raise PolisFormatError("comments.csv: no comments to import")
    name = folder.resolve().name
    key = _key(summary, folder)
    slug = _slug(name)
    topic = _topic(summary, name)
    description = _description(summary, key)
    with _refused("summary.csv", summary.get("topic", (0, ""))[0]):
        Forum.checked(slug, topic)
        require_text("title", topic, max_len=TITLE_MAX)
    return Conversation(
        key=key,
        topic=topic,
        description=description,
        slug=slug,
        comments=tuple(sorted(comments, key=lambda cm: (cm.at, cm.comment_id))),
        votes=tuple(votes),
        skipped_comments=len(skipped),
        skipped_votes=skipped_votes,
    )


@contextmanager
def _refused(name: str, line: int, prefix: str = "") -> Iterator[None]:
    """Turns a domain rule's refusal into a PolisFormatError at a file and line."""
    try:
        yield
    except DomainError as exc:
        where = f"{name} line {line}" if line else name
        raise PolisFormatError(f"{where}: {prefix}{exc}") from None


def _text(path: Path) -> str:
    """The file as text. A byte that is not UTF-8 is reported at its line and byte offset
    (reading through a text stream would only know where the last decoded chunk began)."""
    data = path.read_bytes()
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise PolisFormatError(
            f"{path.name} line {line}: not UTF-8 text (byte 0x{data[offset]:02x} at offset "
            f"{offset}: {exc.reason})"
        ) from None


def _present(path: Path) -> bool:
    """Whether the export has this file. A folder (or a device) under the name is refused,
    not taken for an absent file: that would skip the summary, or call votes.csv missing."""
    if path.is_dir():
        raise PolisFormatError(f"{path.name} in {path.parent} is a directory, not a file")
    if path.exists() and not path.is_file():
        raise PolisFormatError(f"{path.name} in {path.parent} is not a regular file")
    return path.is_file()


_QUOTES = ' (a quote inside a quoted field is written twice: "")'


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The file's CSV rows, each with the line it ends on. Strictly: a lenient reader takes
    a quote left open for a field that runs to the end of the file, swallowing every row
    after it into one text."""
    reader = csv.reader(io.StringIO(_text(path), newline=""), strict=True)
    start = 1  # the line the row being read begins on
    try:
        for row in reader:
            yield reader.line_num, row
            start = reader.line_num + 1
    except csv.Error as exc:
        problem, line = str(exc), reader.line_num
        if problem == "unexpected end of data":  # the end of the file was reached in quotes
            problem, line = f"a quoted field is not closed by the end of the file{_QUOTES}", start
        elif problem.startswith("',' expected after"):
            problem = f"text follows the closing quote of a quoted field{_QUOTES}"
        raise PolisFormatError(f"{path.name} line {line}: {problem}") from None


def _rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    if not _present(path):
        raise PolisFormatError(f"{path.name} is missing from {path.parent}")
    records = _records(path)
    _, header = next(records, (0, []))
    missing = [col for col in columns if col not in header]
    if missing:
        raise PolisFormatError(f"{path.name}: missing column(s) {', '.join(missing)}")
    for line, values in records:
        if values:  # a blank line, as csv.DictReader skips it
            yield line, dict(zip(header, values, strict=False))


# Only ASCII digits: int() also takes other scripts' digits, "_" between digits and a "+".
_WHOLE = re.compile(r"-?[0-9]+")


def _int(
    path: Path, line: int, row: dict[str, str], column: str, allowed: Iterable[int] = ()
) -> int:
    raw = (row.get(column) or "").strip(" \t")
    if not _WHOLE.fullmatch(raw):
        raise PolisFormatError(
            f"{path.name} line {line}: {column} must be a whole number in the digits 0-9, "
            f"got {raw!r}"
        )
    try:
        value = int(raw)
    except ValueError:  # more digits than int() will read
        raise PolisFormatError(
            f"{path.name} line {line}: {column} is out of range ({len(raw)} digits)"
        ) from None
    allowed = tuple(allowed)
    if allowed and value not in allowed:
        raise PolisFormatError(
            f"{path.name} line {line}: {column} must be one of {', '.join(map(str, allowed))}, "
            f"got {value}"
        )
    # A minus only where the format has negative values (votes and moderation): not "-0".
    if raw.startswith("-") and not any(v < 0 for v in allowed):
        raise PolisFormatError(f"{path.name} line {line}: {column} must not be negative")
    return value


def _person(path: Path, line: int, row: dict[str, str], column: str) -> int:
    """A Pol.is participant id, short enough to name its participant in OpenJam."""
    person = _int(path, line, row, column)
    with _refused(path.name, line, f"{column} {person} is too long to name a participant: "):
        require_text("display name", display_name(person), max_len=NAME_MAX)
    return person


def _time(path: Path, line: int, row: dict[str, str], now: datetime) -> datetime:
    # Milliseconds since the epoch, exactly: no float rounding.
    value = _int(path, line, row, "timestamp")
    where = f"{path.name} line {line}: timestamp {value}"
    try:
        at = EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        raise PolisFormatError(f"{where} is out of range") from None
    if at < EARLIEST:
        raise PolisFormatError(
            f"{where} ({at:%Y-%m-%d}) is before {EARLIEST:%Y}: Pol.is gives milliseconds since 1970"
        )
    if at > now:
        raise PolisFormatError(f"{where} ({at.isoformat()}) is in the future")
    return at


def _read_summary(path: Path) -> dict[str, tuple[int, str]]:
    """The summary's fields, each with the line it ends on."""
    if not _present(path):
        return {}
    return {row[0].strip(): (line, row[1]) for line, row in _records(path) if len(row) >= 2}


def _key(summary: dict[str, tuple[int, str]], folder: Path) -> str:
    line, url = summary.get("url", (0, ""))
    with _refused("summary.csv", line):
        # Cleaned as the jam's `imported_from` will be, so the jam's id is derived from it.
        key = require_text("url", url, max_len=REASON_MAX, min_len=0)
    if key:
        return key
    digest = hashlib.sha256()
    for name in ("comments.csv", "votes.csv"):
        digest.update((folder / name).read_bytes())
    return f"sha256:{digest.hexdigest()}"


def _topic(summary: dict[str, tuple[int, str]], folder_name: str) -> str:
    # A topic that shows nothing (blank, or only invisible characters) counts as none.
    for candidate in (summary.get("topic", (0, ""))[1], folder_name):
        topic = normalise(candidate, multiline=False)
        if topic:
            return _shorten(topic, TITLE_MAX)
    return "Pol.is conversation"


def _description(summary: dict[str, tuple[int, str]], key: str) -> str:
    line, own = summary.get("conversation-description", (0, ""))
    source = f"Imported from Pol.is: {key}\n\n{ATTRIBUTION}"
    own = normalise(own, multiline=True)
    # The conversation's own words give way; the source and the licence's attribution stay.
    own = _shorten(own, BODY_MAX - len(source) - 2) if own else ""
    with _refused("summary.csv", line):
        return require_text(
            "description",
            f"{own}\n\n{source}" if own else source,
            max_len=BODY_MAX,
            min_len=0,
            multiline=True,
        )


def _read_comments(path: Path, now: datetime) -> tuple[list[PolisComment], set[int]]:
    comments: dict[int, PolisComment] = {}
    skipped: set[int] = set()
    for line, row in _rows(path, COMMENT_COLUMNS):
        comment_id = _int(path, line, row, "comment-id")
        if comment_id in comments or comment_id in skipped:
            raise PolisFormatError(f"{path.name} line {line}: comment-id {comment_id} repeats")
        at = _time(path, line, row, now)
        author = _person(path, line, row, "author-id")
        moderated = _int(path, line, row, "moderated", (-1, 0, 1))
        text = row.get("comment-body") or ""
        try:
            body = require_text("comment-body", text, max_len=BODY_MAX, multiline=True)
            title = require_text(
                "title", _shorten(" ".join(body.split()), TITLE_MAX), max_len=TITLE_MAX
            )
        except InvalidText as exc:
            if not text.strip():  # an empty statement has nothing to show: skipped
                skipped.add(comment_id)
                continue
            raise PolisFormatError(f"{path.name} line {line}: {exc}") from None
        comments[comment_id] = PolisComment(comment_id, author, at, moderated == -1, title, body)
    return list(comments.values()), skipped


def _read_votes(
    path: Path, posted: dict[int, datetime], skipped: set[int], now: datetime
) -> tuple[list[PolisVote], int]:
    votes: list[tuple[datetime, int, PolisVote]] = []
    dropped = 0
    for line, row in _rows(path, VOTE_COLUMNS):
        comment_id = _int(path, line, row, "comment-id")
        vote = PolisVote(
            comment_id=comment_id,
            voter_id=_person(path, line, row, "voter-id"),
            at=_time(path, line, row, now),
            value=_int(path, line, row, "vote", (1, -1, 0)),
        )
        if comment_id in skipped:
            dropped += 1
            continue
        if comment_id not in posted:
            raise PolisFormatError(f"{path.name} line {line}: no comment with id {comment_id}")
        if vote.at < posted[comment_id]:
            raise PolisFormatError(
                f"{path.name} line {line}: a vote at {vote.at.isoformat()} before comment "
                f"{comment_id} was posted ({posted[comment_id].isoformat()})"
            )
        votes.append((vote.at, line, vote))
    votes.sort(key=lambda v: (v[0], v[1]))
    return [v for _, _, v in votes], dropped


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:.-") + "…"


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower())[:40].strip("-")
    return slug or "polis"


# Replaying it through the application.
@dataclass(frozen=True)
class PolisIds:
    """Ids derived from the jam and Pol.is's own ids: the same export gives the same ids."""

    jam_id: UUID

    @property
    def organizer(self) -> UUID:
        return uuid5(self.jam_id, "organizer")

    def participant(self, polis_id: int) -> UUID:
        return uuid5(self.jam_id, f"participant:{polis_id}")

    def idea(self, comment_id: int) -> UUID:
        return uuid5(self.jam_id, f"comment:{comment_id}")

    def vote(self, row: PolisVote) -> UUID:
        return vote_id(self.idea(row.comment_id), self.participant(row.voter_id))


@dataclass(frozen=True)
class _Work:
    """What an import has left to write: all of it, or what an interrupted one did not."""

    organizer: bool
    jam: bool
    actor: UUID  # who hides what Pol.is moderated out: the organizer who created the jam
    people: dict[int, datetime]  # Pol.is id -> first activity
    comments: list[PolisComment]
    votes: list[PolisVote]
    hides: list[PolisComment]

    def __bool__(self) -> bool:
        return any((self.organizer, self.jam, self.people, self.comments, self.votes, self.hides))


def import_conversation(
    app: JamApplication,
    conversation: Conversation,
    *,
    segment: str = Segment.CLIENT.value,
    workers: int = 256,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Replay a checked conversation as a new jam; every write goes through `app.handle`.

    If an earlier import of the conversation was interrupted, finish it instead.
    """
    started = time.perf_counter()
    parse_enum(Segment, segment, "segment")  # the domain checks it too, but only mid-import
    ids = PolisIds(uuid5(POLIS_NAMESPACE, conversation.key))
    times = [cm.at for cm in conversation.comments] + [v.at for v in conversation.votes]
    starts_at, last = min(times), max(times)
    ends_at = last + timedelta(seconds=1)
    first_seen: dict[int, datetime] = {}
    for person, at in [(cm.author_id, cm.at) for cm in conversation.comments] + [
        (v.voter_id, v.at) for v in conversation.votes
    ]:
        first_seen[person] = min(at, first_seen.get(person, at))
    work = _work_left(app, conversation, ids, segment, first_seen, (starts_at, ends_at))
    if not work:
        raise AlreadyImported(
            f"the Pol.is conversation {conversation.key} is already imported as jam {ids.jam_id}"
        )
    if not work.jam:
        progress(f"finishing the interrupted import of jam {ids.jam_id}")

    # Without group commit every thread writes on its own: a few are enough.
    with ThreadPoolExecutor(max_workers=workers if app.committer else 4) as pool:
        run = _Runner(app, pool)
        if work.jam:
            progress("creating the jam")
        _setup(app, conversation, ids, work, starts_at - SETUP_LEAD, ends_at)
        progress(f"joining {len(work.people):,} participants")
        # Each person's invite is used at once, so an interruption leaves at most one
        # unused invite per worker (its code random and never shown).
        run(_joining(ids, p, at, segment) for p, at in work.people.items())
        progress(f"posting {len(work.comments):,} ideas")
        run(
            c.PostIdea(
                actor=ids.participant(cm.author_id),
                jam_id=ids.jam_id,
                idea_id=ids.idea(cm.comment_id),
                forum=conversation.slug,
                title=cm.title,
                body=cm.body,
                at=cm.at,
            )
            for cm in work.comments
        )
        progress(f"replaying {len(work.votes):,} votes")
        _replay_votes(run, work.votes, ids)
        run(
            c.HideIdea(
                actor=work.actor, idea_id=ids.idea(cm.comment_id), reason=MODERATED_OUT, at=last
            )
            for cm in work.hides
        )
    standing = {(v.comment_id, v.voter_id): v.value for v in conversation.votes}
    return ImportResult(
        jam_id=ids.jam_id,
        title=conversation.topic,
        ideas=len(conversation.comments),
        hidden=sum(1 for cm in conversation.comments if cm.moderated_out),
        votes=sum(1 for v in standing.values() if v != 0),
        passes=sum(1 for v in standing.values() if v == 0),
        vote_rows=len(conversation.votes),
        participants=len(first_seen),
        skipped_comments=conversation.skipped_comments,
        skipped_votes=conversation.skipped_votes,
        starts_at=starts_at,
        ends_at=ends_at,
        seconds=time.perf_counter() - started,
        resumed=not work.jam,
    )


def _work_left(
    app: JamApplication,
    conversation: Conversation,
    ids: PolisIds,
    segment: str,
    first_seen: dict[int, datetime],
    window: tuple[datetime, datetime],
) -> _Work:
    """What is not in the log yet, found from the derived ids' versions."""
    hidden = [cm for cm in conversation.comments if cm.moderated_out]
    jam = app.find(Jam, ids.jam_id)
    if jam is None:
        organizer = app.find(Participant, ids.organizer) is None
        votes = list(conversation.votes)
        return _Work(
            organizer,
            True,
            ids.organizer,
            dict(first_seen),
            list(conversation.comments),
            votes,
            hidden,
        )
    if jam.imported_from != conversation.key:
        raise AlreadyImported(f"jam {ids.jam_id} exists and is not this conversation's import")
    if (jam.starts_at, jam.ends_at) != window:
        # A newer export of the conversation (they grow): its activity would not fit the jam
        # made from the older one, which has closed. Only an interrupted import is finished.
        raise AlreadyImported(
            f"the Pol.is conversation {conversation.key} is already imported as jam "
            f"{ids.jam_id}, from an export whose activity ran from {jam.starts_at.isoformat()}"
            f" to {jam.ends_at.isoformat()}; this one runs from {window[0].isoformat()} to "
            f"{window[1].isoformat()}: import it into another store"
        )
    people = [ids.participant(p) for p in first_seen]
    ideas = [ids.idea(cm.comment_id) for cm in conversation.comments]
    versions = app.versions(people + ideas + list({ids.vote(v) for v in conversation.votes}))
    left = {p: at for p, at in first_seen.items() if ids.participant(p) not in versions}
    joined = next((p for p in people if p in versions), None)
    if left and joined is not None and (was := app.load(Participant, joined).segment) != segment:
        raise AlreadyImported(
            f"jam {ids.jam_id} holds an interrupted import of this conversation into segment "
            f"{was.value!r}: rerun with --segment {was.value}"
        )
    return _Work(
        organizer=False,  # it made the jam; an import before ids were derived had its own
        jam=False,
        actor=jam.created_by,
        people=left,
        comments=[cm for cm in conversation.comments if ids.idea(cm.comment_id) not in versions],
        votes=_votes_left(conversation.votes, ids, versions),
        # The hide is the last thing an import does to an idea: a later version is its own.
        hides=[cm for cm in hidden if versions.get(ids.idea(cm.comment_id), 0) <= 1],
    )


def _votes_left(
    votes: Sequence[PolisVote], ids: PolisIds, versions: dict[UUID, int]
) -> list[PolisVote]:
    """The rows not yet replayed, in time order.

    A vote aggregate has one event per row that changed its value (the first row
    always does; a row repeating the value records nothing), so its version says how
    many of its rows are in: those are skipped, with the no-change rows that follow them.
    """
    done: set[int] = set()
    recorded: defaultdict[UUID, int] = defaultdict(int)
    previous: dict[UUID, int] = {}
    for n, row in enumerate(votes):
        key = ids.vote(row)
        recorded[key] += previous.get(key) != row.value  # the first row: None != value
        previous[key] = row.value
        if recorded[key] <= versions.get(key, 0):
            done.add(n)
    return [row for n, row in enumerate(votes) if n not in done]


def _joining(ids: PolisIds, person: int, at: datetime, segment: str) -> tuple[c.Command, ...]:
    code = new_invite_code()
    return (
        c.IssueInvite(code=code, role="participant", segment=segment, jam_id=ids.jam_id, at=at),
        c.JoinJam(
            invite_code=code,
            participant_id=ids.participant(person),
            display_name=display_name(person),
            at=at,
        ),
    )


class _Runner:
    """Handles a wave of independent steps in parallel, so group commit batches them; a
    step is a command, or commands handled one after another."""

    def __init__(self, app: JamApplication, pool: ThreadPoolExecutor) -> None:
        self._app = app
        self._pool = pool

    def __call__(self, steps: Iterable[c.Command | tuple[c.Command, ...]]) -> None:
        for _ in self._pool.map(self._step, list(steps)):
            pass

    def _step(self, step: c.Command | tuple[c.Command, ...]) -> None:
        for command in step if isinstance(step, tuple) else (step,):
            self._app.handle(command)


def _setup(
    app: JamApplication,
    conversation: Conversation,
    ids: PolisIds,
    work: _Work,
    at: datetime,
    ends_at: datetime,
) -> None:
    """The import's own organizer (one per jam, kept by a rerun) and the jam."""
    if work.organizer:
        code = new_invite_code()
        app.handle(c.IssueInvite(code=code, role="organizer", at=at))
        app.handle(
            c.JoinJam(
                invite_code=code, participant_id=ids.organizer, display_name=ORGANIZER_NAME, at=at
            )
        )
    if work.jam:
        app.handle(
            c.CreateJam(
                actor=ids.organizer,
                jam_id=ids.jam_id,
                title=conversation.topic,
                description=conversation.description,
                forums=(c.ForumSpec(conversation.slug, conversation.topic),),
                starts_at=at + SETUP_LEAD,
                ends_at=ends_at,
                imported_from=conversation.key,
                at=at,
            )
        )


def _replay_votes(run: _Runner, votes: Sequence[PolisVote], ids: PolisIds) -> None:
    """Replay vote rows; the n-th row of each (comment, voter) goes in the n-th wave.

    A wave has at most one command per vote aggregate, so each vote's events are
    recorded in time order while the wave's commands are batched together.
    """
    waves: defaultdict[int, list[c.Command]] = defaultdict(list)
    seen: defaultdict[tuple[int, int], int] = defaultdict(int)
    for vote in votes:
        key = (vote.comment_id, vote.voter_id)
        voter, idea = ids.participant(vote.voter_id), ids.idea(vote.comment_id)
        command: c.Command = (
            c.PassIdea(actor=voter, idea_id=idea, at=vote.at)
            if vote.value == 0
            else c.CastVote(actor=voter, idea_id=idea, value=vote.value, at=vote.at)
        )
        waves[seen[key]].append(command)
        seen[key] += 1
    for n in sorted(waves):
        run(waves[n])
