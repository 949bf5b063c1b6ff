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

The whole export is read and checked before the first write. The jam's id is derived
from the conversation (its URL, else the files' content), so importing the same
conversation into the same store again is refused.
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4, uuid5

from domain import Jam
from domain.errors import InvalidText
from domain.text import BODY_MAX, TITLE_MAX, require_text
from domain.values import Segment, parse_enum
from jam import commands as c
from jam.application import JamApplication
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
# Created and joined by the importer just before the conversation's first activity.
SETUP_LEAD = timedelta(minutes=1)


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
    description: str
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


# Reading and checking the export.
def read_conversation(folder: Path) -> Conversation:
    """Read and check a whole export; raise PolisFormatError naming the file and line."""
    if not folder.is_dir():
        raise PolisFormatError(f"{folder} is not a folder")
    summary = _read_summary(folder / "summary.csv")
    comments, skipped = _read_comments(folder / "comments.csv")
    posted = {cm.comment_id: cm.at for cm in comments}
    votes, skipped_votes = _read_votes(folder / "votes.csv", posted, skipped)
    if not comments:
        raise PolisFormatError("comments.csv: no comments to import")
    digest = hashlib.sha256()
    for name in ("comments.csv", "votes.csv"):
        digest.update((folder / name).read_bytes())
    topic = summary.get("topic", "").strip() or folder.resolve().name
    return Conversation(
        key=summary.get("url", "").strip() or f"sha256:{digest.hexdigest()}",
        topic=_shorten(topic, TITLE_MAX),
        description=summary.get("conversation-description", "").strip(),
        slug=_slug(folder.resolve().name),
        comments=tuple(sorted(comments, key=lambda cm: (cm.at, cm.comment_id))),
        votes=tuple(votes),
        skipped_comments=len(skipped),
        skipped_votes=skipped_votes,
    )


def _rows(path: Path, columns: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise PolisFormatError(f"{path.name} is missing from {path.parent}")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        try:
            missing = [col for col in columns if col not in (reader.fieldnames or [])]
            if missing:
                raise PolisFormatError(f"{path.name}: missing column(s) {', '.join(missing)}")
            for row in reader:
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise PolisFormatError(f"{path.name} line {reader.line_num}: {exc}") from None


def _int(
    path: Path, line: int, row: dict[str, str], column: str, allowed: Iterable[int] = ()
) -> int:
    raw = (row.get(column) or "").strip()
    try:
        value = int(raw)
    except ValueError:
        raise PolisFormatError(
            f"{path.name} line {line}: {column} must be a whole number, got {raw!r}"
        ) from None
    allowed = tuple(allowed)
    if allowed and value not in allowed:
        raise PolisFormatError(
            f"{path.name} line {line}: {column} must be one of {', '.join(map(str, allowed))}, "
            f"got {value}"
        )
    if value < 0 and not allowed:
        raise PolisFormatError(f"{path.name} line {line}: {column} must not be negative")
    return value


def _time(path: Path, line: int, row: dict[str, str]) -> datetime:
    # Milliseconds since the epoch, exactly: no float rounding.
    value = _int(path, line, row, "timestamp")
    try:
        return EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        raise PolisFormatError(
            f"{path.name} line {line}: timestamp {value} is out of range"
        ) from None


def _read_summary(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return {row[0].strip(): row[1] for row in csv.reader(f) if len(row) >= 2}
    except (csv.Error, UnicodeDecodeError) as exc:
        raise PolisFormatError(f"{path.name}: {exc}") from None


def _read_comments(path: Path) -> tuple[list[PolisComment], set[int]]:
    comments: dict[int, PolisComment] = {}
    skipped: set[int] = set()
    for line, row in _rows(path, COMMENT_COLUMNS):
        comment_id = _int(path, line, row, "comment-id")
        if comment_id in comments or comment_id in skipped:
            raise PolisFormatError(f"{path.name} line {line}: comment-id {comment_id} repeats")
        at = _time(path, line, row)
        author = _int(path, line, row, "author-id")
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
    path: Path, posted: dict[int, datetime], skipped: set[int]
) -> tuple[list[PolisVote], int]:
    votes: list[tuple[datetime, int, PolisVote]] = []
    dropped = 0
    for line, row in _rows(path, VOTE_COLUMNS):
        comment_id = _int(path, line, row, "comment-id")
        vote = PolisVote(
            comment_id=comment_id,
            voter_id=_int(path, line, row, "voter-id"),
            at=_time(path, line, row),
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
def import_conversation(
    app: JamApplication,
    conversation: Conversation,
    *,
    segment: str = Segment.CLIENT.value,
    workers: int = 256,
    progress: Callable[[str], None] = lambda _: None,
) -> ImportResult:
    """Replay a checked conversation as a new jam; every write goes through `app.handle`."""
    started = time.perf_counter()
    parse_enum(Segment, segment, "segment")  # the domain checks it too, but only mid-import
    jam_id = uuid5(POLIS_NAMESPACE, conversation.key)
    if app.find(Jam, jam_id) is not None:
        raise AlreadyImported(
            f"the Pol.is conversation {conversation.key} is already imported as jam {jam_id}"
        )
    ids = PolisIds(jam_id)
    times = [cm.at for cm in conversation.comments] + [v.at for v in conversation.votes]
    starts_at, last = min(times), max(times)
    ends_at = last + timedelta(seconds=1)
    first_seen: dict[int, datetime] = {}
    for person, at in [(cm.author_id, cm.at) for cm in conversation.comments] + [
        (v.voter_id, v.at) for v in conversation.votes
    ]:
        first_seen[person] = min(at, first_seen.get(person, at))

    # Without group commit every thread writes on its own: a few are enough.
    with ThreadPoolExecutor(max_workers=workers if app.committer else 4) as pool:
        run = _Runner(app, pool)
        progress("creating the jam")
        organizer = _setup(app, conversation, ids, starts_at - SETUP_LEAD, ends_at)
        progress(f"joining {len(first_seen):,} participants")
        codes = {person: new_invite_code() for person in first_seen}
        run(
            c.IssueInvite(code=codes[p], role="participant", segment=segment, jam_id=jam_id, at=at)
            for p, at in first_seen.items()
        )
        run(
            c.JoinJam(
                invite_code=codes[p],
                participant_id=ids.participant(p),
                display_name=f"Participant {p}",
                at=at,
            )
            for p, at in first_seen.items()
        )
        progress(f"posting {len(conversation.comments):,} ideas")
        run(
            c.PostIdea(
                actor=ids.participant(cm.author_id),
                jam_id=jam_id,
                idea_id=ids.idea(cm.comment_id),
                forum=conversation.slug,
                title=cm.title,
                body=cm.body,
                at=cm.at,
            )
            for cm in conversation.comments
        )
        progress(f"replaying {len(conversation.votes):,} votes")
        standing = _replay_votes(run, conversation.votes, ids)
        hidden = [cm for cm in conversation.comments if cm.moderated_out]
        run(
            c.HideIdea(
                actor=organizer, idea_id=ids.idea(cm.comment_id), reason=MODERATED_OUT, at=last
            )
            for cm in hidden
        )
    return ImportResult(
        jam_id=jam_id,
        title=conversation.topic,
        ideas=len(conversation.comments),
        hidden=len(hidden),
        votes=sum(1 for v in standing.values() if v != 0),
        passes=sum(1 for v in standing.values() if v == 0),
        vote_rows=len(conversation.votes),
        participants=len(first_seen),
        skipped_comments=conversation.skipped_comments,
        skipped_votes=conversation.skipped_votes,
        starts_at=starts_at,
        ends_at=ends_at,
        seconds=time.perf_counter() - started,
    )


@dataclass(frozen=True)
class PolisIds:
    """Ids derived from the jam and Pol.is's own ids: the same export gives the same ids."""

    jam_id: UUID

    def participant(self, polis_id: int) -> UUID:
        return uuid5(self.jam_id, f"participant:{polis_id}")

    def idea(self, comment_id: int) -> UUID:
        return uuid5(self.jam_id, f"comment:{comment_id}")


class _Runner:
    """Handles a wave of independent commands in parallel, so group commit batches them."""

    def __init__(self, app: JamApplication, pool: ThreadPoolExecutor) -> None:
        self._app = app
        self._pool = pool

    def __call__(self, commands: Iterable[c.Command]) -> None:
        for _ in self._pool.map(self._app.handle, list(commands)):
            pass


def _setup(
    app: JamApplication, conversation: Conversation, ids: PolisIds, at: datetime, ends_at: datetime
) -> UUID:
    code, organizer = new_invite_code(), uuid4()  # fresh: an import that failed here can rerun
    app.handle(c.IssueInvite(code=code, role="organizer", at=at))
    app.handle(
        c.JoinJam(invite_code=code, participant_id=organizer, display_name="Pol.is import", at=at)
    )
    description = "\n\n".join(
        part
        for part in (
            conversation.description,
            f"Imported from Pol.is: {conversation.key}",
            ATTRIBUTION,
        )
        if part
    )
    app.handle(
        c.CreateJam(
            actor=organizer,
            jam_id=ids.jam_id,
            title=conversation.topic,
            description=_shorten(description, BODY_MAX),
            forums=(c.ForumSpec(conversation.slug, conversation.topic),),
            starts_at=at + SETUP_LEAD,
            ends_at=ends_at,
            imported_from=conversation.key,
            at=at,
        )
    )
    return organizer


def _replay_votes(
    run: _Runner, votes: Sequence[PolisVote], ids: PolisIds
) -> dict[tuple[int, int], int]:
    """Replay vote rows; the n-th row of each (comment, voter) goes in the n-th wave.

    A wave has at most one command per vote aggregate, so each vote's events are
    recorded in time order while the wave's commands are batched together.
    """
    waves: defaultdict[int, list[c.Command]] = defaultdict(list)
    seen: defaultdict[tuple[int, int], int] = defaultdict(int)
    standing: dict[tuple[int, int], int] = {}
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
        standing[key] = vote.value
    for n in sorted(waves):
        run(waves[n])
    return standing
