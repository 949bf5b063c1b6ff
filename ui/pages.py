"""Server-rendered pages: they read the read models and post forms as commands.

Everything works without JavaScript; `static/live.js` only swaps in fresh
content when a live update arrives. Form posts carry a CSRF token, checked by
the middleware before any handler runs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, NamedTuple
from urllib.parse import parse_qs, parse_qsl, quote, urlencode, urlsplit
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template
from markupsafe import Markup

from domain import Comment, Participant
from domain.comment import REPLY_DEPTH_MAX
from domain.errors import ConflictingState, DomainError, InvalidValue, NotAuthor, NotPermitted
from domain.participant import MAX_INVITE_USES
from domain.text import BODY_MAX, normalise, quoted, require_text
from domain.topics import LABEL_MAX
from domain.values import Role, Segment, require_slug, slug_for, vote_id
from jam import commands as c
from jam.application import JamApplication
from jam.errors import ApplicationError, NotFound
from jam.invites import MAX_INVITES
from jam.sign_in_keys import holder_of
from projections import queries
from projections.db import Cursor
from projections.models import CommentNode, JamCentral, JamInfo, Thread, Touched
from ui.activity import activity_chart
from ui.auth import SIGNS_IN, cookie_gone, mark_signed_in, session_cookie, signed_in, viewer
from ui.bootstrap import Services
from ui.cache import Body as Kept
from ui.cache import list_tags, names_in, thread_of
from ui.headers import NO_STORE
from ui.jams import forum_slugs, issue_codes
from ui.me import make_personal_code
from ui.notices import key_of, notice_params, place_key
from ui.page_errors import PAGE_EXCEPTION_HANDLERS, refused_with_text, safe_next
from ui.reads import (
    MAX_OFFSET,
    NOT_INVITED,
    Forum,
    activity_of,
    cached_at,
    caught_up,
    in_utc,
    page_time,
    require_role,
    require_role_of,
)
from ui.schemas import NewInvites
from ui.sessions import end_this_session
from ui.topics import TopicChange, change_topic, read_duplicates, read_topics, topic_map

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SORTS = ("new", "top", "hot", "discussed")
PAGE_SIZE = 100  # ideas on one page of the jam's list
# Said where the forms would be, so a blocked reader knows why there are none.
BLOCKED_TEXT = (
    "An organizer has blocked you from posting, commenting, voting and flagging in this jam."
    " You can still read everything."
)
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]
SIGN_IN_TO_READ = "sign in to see the jam's ideas"


# What a page says once an organizer's form has done its work.
_MODERATED = {
    "hide": "The idea is hidden.",
    "restore": "The idea is restored.",
    "dismiss": "Its flags are dismissed; the idea stays as it is.",
}
_TOPIC_CHANGED = {
    "rename": "The topic is renamed.",
    "pin": "The topic is pinned: later refreshes keep its ideas together.",
    "unpin": "The topic is unpinned.",
    "merge": "The topics are merged.",
    "split": "The topic is split in two.",
}
# Topics are recomputed by the ranking worker, not by the request: said, so that the
# table still showing the old topics does not look like a change that did nothing.
_TOPICS_FOLLOW = " The topics below show it from the next refresh, within about {s} seconds."


class _JamPage(msgspec.Struct, frozen=True):
    """What a page of a jam's ideas shows every reader of one kind alike: kept in the read
    cache, so that the hundred ideas are read and escaped once per change, not per reader."""

    jam: JamInfo
    ideas_html: str


_msgpack = msgspec.msgpack.Encoder()
_jam_page = msgspec.msgpack.Decoder(_JamPage)


class _ThreadPage(msgspec.Struct, frozen=True):
    """A thread as every reader of one kind sees it: the thread (replies capped) and its
    comments rendered with holes for what is each reader's own (see `_KEY_HOLE`)."""

    thread: Thread
    comments_html: str
    editable: list[str]  # authors of comments they may edit: theirs are rendered apart


_thread_page = msgspec.msgpack.Decoder(_ThreadPage)


class _Mine(NamedTuple):
    """What a thread page shows of its reader's own, read for each (and the jam)."""

    me: Participant | None
    jam_id: str | None
    jam: JamInfo | None
    my_vote: int | None
    flagged: str | None  # "open", "reviewed" (by an organizer since) or None
    position: int


# The holes the shared rendering of a thread's comments leaves for each reader's own: their
# CSRF token and the keys of their reply forms. Escaped text cannot contain them (it has no
# "<"), so only these are ever filled.
_CSRF_HOLE = Markup("<!--hole csrf-->")
_KEY_HOLE = re.compile(r"<!--hole key ([0-9a-f-]{36})-->")


def _key_hole(parent: str) -> Markup:
    return Markup("<!--hole key {}-->").format(parent)


def _comments_context(thread: Thread, organizer: bool, writes: bool) -> dict[str, Any]:
    return {
        "thread": thread,
        "organizer": organizer,
        "can_write": writes and not thread.idea.hidden,
        "reply_depth_max": REPLY_DEPTH_MAX,
    }


def _all_comments(thread: Thread) -> Iterator[CommentNode]:
    stack = list(thread.comments)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.replies)


def _render(request: Request[Any, Any, Any], name: str, **context: Any) -> str:
    """A template rendered apart from the page (autoescaped as the page is), to be kept."""
    return request.app.template_engine.get_template(name).render(**context)


def _past_hours(history: list[str], now: datetime, chosen: datetime | None) -> list[str]:
    """The timeline's times but the hour under way, which "now (live)" shows: its kept
    refresh moves on at every refresh, and a choice offered would change under the reader
    (the chosen time's own hour stays, to show what is shown)."""
    hour, picked = now.isoformat()[:13], chosen.isoformat()[:13] if chosen else None
    return [h for h in history if h[:13] < hour or h[:13] == picked]


def capped(comments: list[CommentNode], depth_max: int) -> list[CommentNode]:
    """The comment tree with replies deeper than `depth_max` listed, in order, under their
    ancestor at that depth: the page's template nests by recursion, and a chain of
    hundreds of replies (a log from before replies were limited) would break it."""

    def flat(nodes: list[CommentNode]) -> list[CommentNode]:
        out, stack = [], list(reversed(nodes))
        while stack:  # no recursion here: the chain may be as deep as it likes
            node = stack.pop()
            out.append(msgspec.structs.replace(node, replies=[]))
            stack.extend(reversed(node.replies))
        return out

    def cap(nodes: list[CommentNode], depth: int) -> list[CommentNode]:
        return [
            msgspec.structs.replace(
                n, replies=cap(n.replies, depth + 1) if depth < depth_max else flat(n.replies)
            )
            for n in nodes
        ]

    return cap(comments, 0)


IDEA_REPEATED = "You posted this idea already: nothing new was posted."
BAD_ADDRESS_NAME = (
    "the name in its address takes 1 to 40 of a-z, 0-9 and hyphens, "
    "starting and ending with a letter or digit"
)


NO_FORUMS = "list the forums of the jam, one a line: it needs at least one"
JAM_REPEATED = "You created this jam already: nothing new was created."
CODES_REPEATED = "These are the codes this form made already: no new ones were made."


def _typed_time(text: str, what: str, example: str, field: str = "") -> datetime:
    """A time typed into a page's field: one without an offset means UTC, as the pages
    say. ValueError in the page's words if it is not a time UTC holds (named `field`, if
    given, where it is out of range)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"give {what} as {example} (UTC)") from None
    try:
        return in_utc(at if at.tzinfo else at.replace(tzinfo=UTC), field or what)
    except ValidationException as exc:
        raise ValueError(str(exc.detail)) from None


def _forums_of(text: str) -> list[c.ForumSpec]:
    """A new jam's forums as its form lists them, a title a line, each address name made
    from its title as "Add a forum" makes it. ValueError in the page's words for a list
    the jam cannot take; the domain judges the rest (titles' lengths, how many)."""
    forums: dict[str, c.ForumSpec] = {}
    for line in text.splitlines():
        title = normalise(line, multiline=False)
        if not title:  # an empty line between titles
            continue
        slug = slug_for(title, forums.keys())
        if slug in forums:
            first = forums[slug].title
            raise ValueError(
                f"the forum {quoted(first)} is listed twice"
                if first.casefold() == title.casefold()
                else f"the forums {quoted(first)} and {quoted(title)} would share the address"
                f" name {slug}: tell their titles apart by a letter a-z or digit"
            )
        forums[slug] = c.ForumSpec(slug, title)
    if not forums:
        raise ValueError(NO_FORUMS)
    return list(forums.values())


def _whole(text: str, most: int) -> int | None:
    """A count typed into a page's field, from 1 to `most`; None for anything else."""
    text = text.strip().replace(",", "")
    if not re.fullmatch(r"[0-9]{1,7}", text) or not 1 <= int(text) <= most:
        return None
    return int(text)


def _invites_asked(data: dict[str, str]) -> NewInvites:
    """What the "Invite people" form asks for, within the API's limits; ValueError in the
    page's words otherwise (never a guess: a mistyped role is not a participant's)."""
    role, segment = data.get("role", ""), data.get("segment", "")
    if role not in {r.value for r in Role}:
        raise ValueError(
            "choose the role of the people you invite: participant, leader or organizer"
        )
    if segment not in {s.value for s in Segment}:
        raise ValueError("choose their segment: employee, client, family or partner")
    count = _whole(data.get("count", ""), MAX_INVITES)
    if count is None:
        raise ValueError(f"give how many codes to make: 1 to {MAX_INVITES:,}")
    uses = _whole(data.get("uses", ""), MAX_INVITE_USES)
    if uses is None:
        raise ValueError(f"give how many people may join with each code: 1 to {MAX_INVITE_USES:,}")
    return NewInvites(role=Role(role), segment=Segment(segment), count=count, uses=uses)


def _typed_here(data: dict[str, str], fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """What was typed into a form's `fields`, to give back with its refusal, if the page's
    script did not keep it (it says so with `kept`); else nothing."""
    if data.get("kept") == "1":
        return []
    return [(name, data.get(name, "")) for name in fields]


def _back(
    request: Request[Any, Any, Any],
    fallback: str,
    notice: str | None = None,
    *,
    done: bool = False,
    drop: tuple[str, ...] = (),
) -> Redirect:
    """Back to the page the form was on: only ever a path on this site. `drop`: parameters
    of its address not to keep."""
    referer = urlsplit(request.headers.get("referer", ""))
    ours = referer.path.startswith("/") and not referer.path.startswith("//")
    path = referer.path if ours else ""
    gone = ("notice", "ns", "nk", "after", *drop)
    query = [(k, v) for k, v in parse_qsl(referer.query) if k not in gone]
    if not path:
        path, query = fallback, []
    if notice:
        query += notice_params(request, notice, path, done=done)
    return Redirect(path + ("?" + urlencode(query) if query else ""))


def _after(back: Redirect, position: int, anchor: str = "") -> Redirect:
    """`back`, once the page holds log `position` (and at `anchor` on it, if given)."""
    target = back.url
    place = f"#{anchor}" if anchor else ""
    return Redirect(f"{target}{'&' if '?' in target else '?'}after={position}{place}")


def _sign_in_refused(
    request: Request[Any, Any, Any], why: str, data: dict[str, str], *extra: tuple[str, str]
) -> Redirect:
    """Back to the sign-in forms, saying why, and still on the way to the page asked for."""
    back = safe_next(data.get("next"))
    query = notice_params(request, why, "/") + ([("next", back)] if back else [])
    return Redirect("/?" + urlencode([*query, *extra]))


def _reader(app: JamApplication, pid: UUID) -> Participant | None:
    # The repository's own copy, brought up to date from the event store as `find`'s is (a
    # block shows at once), without the private deep copy a command needs to change it:
    # pages only read it, and the copy was half the cost of reading it.
    try:
        return app.read(Participant, pid)
    except NotFound:
        return None


async def _me(services: Services, request: Request[Any, Any, Any]) -> Participant | None:
    pid = viewer(request)
    return await sync_to_thread(_reader, services.jam, pid) if pid else None


def _member(me: Participant | None, jam_id: UUID | None) -> Participant:
    """The signed-in reader, if this jam is theirs to read (None: any jam; checked once the
    jam is known); else 401 (a page: sign in and come back) or 403. A blocked participant
    still reads."""
    if me is None:
        raise NotAuthorizedException(SIGN_IN_TO_READ)
    if jam_id is not None and not me.belongs_to(jam_id):
        raise PermissionDeniedException(NOT_INVITED)
    return me


def _status(info: Any, now: datetime) -> tuple[str, bool]:
    starts, ends = datetime.fromisoformat(info.starts_at), datetime.fromisoformat(info.ends_at)
    if info.closed_at and info.close_reason:  # the organizer's word on why, for everyone
        return f"This jam was closed early: {info.close_reason.rstrip('.')}.", False
    if info.closed_at or now >= ends:
        return "This jam is closed.", False
    if now < starts:
        return f"Opens in {_span(starts - now)}.", False
    return f"Open now: {_span(ends - now)} left.", True


def _countdown(info: Any, now: datetime) -> dict[str, str | None]:
    """What the page's script needs to keep the status counting down."""
    starts, ends = datetime.fromisoformat(info.starts_at), datetime.fromisoformat(info.ends_at)
    if info.closed_at or now >= ends:
        return {"deadline": None, "countdown_text": "", "countdown_done": ""}
    if now < starts:
        return {
            "deadline": info.starts_at,
            "countdown_text": "Opens in {}.",
            "countdown_done": "Open now: reload to take part.",
        }
    return {
        "deadline": info.ends_at,
        "countdown_text": "Open now: {} left.",
        "countdown_done": "This jam is closed.",
    }


def _span(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _fresh_key(app: JamApplication, actor: UUID, key: str, data: dict[str, str]) -> str:
    """The key for a comment with these words here: the form's, unless the comment it made
    has since been edited or hidden, so the words are no longer there to be found; then
    posting them again is a new comment, not a repeat of the old one."""
    made = app.find(Comment, JamApplication.new_id(actor, key))
    if made is None:
        return key
    try:
        words = require_text("body", data.get("body", ""), max_len=BODY_MAX, multiline=True)
    except DomainError:
        return key  # refused when sent, as ever
    return key if (made.body == words and not made.hidden) else f"{key}v{made.version}"


async def _never_stored(response: Response[Any]) -> Response[Any]:
    """Pages show their reader (a name, a form half typed): kept in no cache, so that
    after signing out, Back on a shared computer fetches them again, and signed out."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class PagesController(Controller):
    include_in_schema = False
    tags: ClassVar[list[str]] = ["pages"]
    # People with browsers get pages for errors too (the API keeps its JSON).
    exception_handlers = PAGE_EXCEPTION_HANDLERS
    after_request = _never_stored

    @get("/")
    async def home(
        self,
        state: State,
        request: Request[Any, Any, Any],
        after: FromQuery[int | None] = None,
        next: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        services: Services = state.services
        me = await _me(services, request)
        back = safe_next(next)
        if me is not None and back is not None:
            # Back to the page that asked for a sign-in, once the read models hold the join.
            await caught_up(services, after, or_503=False)
            return Redirect(back)
        if me is not None and me.jam_id is not None:
            # Passed on, so the jam page waits for the read models to hold the join: a
            # page rendered before them would have its live stream replay the join.
            return Redirect(f"/jams/{me.jam_id}" + (f"?after={after}" if after is not None else ""))

        def read() -> tuple[list[Any], int]:
            with services.views.reading() as cur:
                return queries.jam_list(cur), queries.position(cur)

        jams, _ = await sync_to_thread(read)
        position = await sync_to_thread(services.jam.position)
        store = services.settings.store_name
        now = services.jam.now().astimezone(UTC)
        # Only an organizer of every jam creates jams (the domain's rule): offered to them.
        creates = me is not None and me.acts_as(Role.ORGANIZER, None)
        return Template(
            "index.html",
            context={
                "me": me,
                # Each with its status as its own page words it ("Opens in 3 h 0 min.").
                "jams": [(j, _status(j, now)[0]) for j in jams] if me else [],
                "can_create": creates,
                # The same at each rendering: the form sent twice creates one jam.
                "jam_key": place_key(state.secret, me.id, "new jam") if creates and me else "",
                "now": f"{now:%Y-%m-%dT%H:%M}",
                "next": back,
                "store": store,
                "position": position,
            },
        )

    @post("/signin", opt={SIGNS_IN: True})
    async def sign_in(self, state: State, request: Request[Any, Any, Any], data: Form) -> Redirect:
        app: JamApplication = state.services.jam
        try:
            done = await sync_to_thread(
                app.handle,
                c.JoinJam(
                    invite_code=data.get("invite_code", ""),
                    participant_id=app.new_id(),
                    display_name=data.get("display_name", ""),
                ),
            )
        except (DomainError, ApplicationError) as exc:
            return _sign_in_refused(request, str(exc), data)
        cookie = session_cookie(state.secret, done.id)  # type: ignore[arg-type]
        mark_signed_in(request)
        back = safe_next(data.get("next"))
        then = f"&next={quote(back)}" if back else ""
        return Redirect(f"/?after={done.position}{then}", cookies=[cookie])

    @post("/signin/personal", opt={SIGNS_IN: True})
    async def sign_in_again(
        self, state: State, request: Request[Any, Any, Any], data: Form
    ) -> Redirect:
        try:
            holder = await sync_to_thread(
                holder_of, state.services.jam, data.get("personal_code", "")
            )
        except DomainError as exc:
            # The personal-code form shown open again, not the invite form alone.
            return _sign_in_refused(request, str(exc), data, ("personal", "1"))
        cookie = session_cookie(state.secret, holder.id)
        mark_signed_in(request)
        return Redirect(safe_next(data.get("next")) or "/", cookies=[cookie])

    @post("/me/personal-code")
    async def personal_code(
        self, state: State, request: Request[Any, Any, Any], data: Form
    ) -> Template | Redirect:
        # Shown in the answer to this POST, never in a URL. The form's one-time key makes a
        # reload answer the same code rather than make another and retire this one.
        key = data.get("request_key", "")[:200] or None
        try:
            code = await make_personal_code(state, request, key, form=True)
        except DomainError as exc:
            return _back(request, "/me", str(exc))
        me = await _me(state.services, request)
        # The answer to a POST: its sign-out forms replace this page in the history
        # ([data-replace], live.js), so Back after signing out asks to send nothing again.
        context = {"me": me, "code": code, "post_answer": True}
        return Template("personal_code.html", context=context, headers=NO_STORE)

    @get("/signout")
    async def before_sign_out(
        self, state: State, request: Request[Any, Any, Any]
    ) -> Template | Redirect:
        me = await _me(state.services, request)
        if me is None or me.sign_in_key is not None:  # signed out, or a code to come back with
            return Redirect("/")
        context = {"me": me, "request_key": secrets.token_urlsafe(16)}
        return Template("sign_out.html", context=context, headers=NO_STORE)

    @post("/signout")
    async def sign_out(
        self, state: State, request: Request[Any, Any, Any], data: Form
    ) -> Redirect | Template:
        # The session ends for good (a copy of its token stops working too) and this
        # browser forgets it. A POST with the CSRF token: another site cannot sign anyone out.
        me = await _me(state.services, request)
        if me is not None and me.sign_in_key is None and data.get("confirm") != "yes":
            # Without a personal code there is no way back as oneself: said before, not after,
            # on a page of its own (a GET), so going Back to it never asks to send a form again.
            return Redirect("/signout")
        if viewer(request) is not None:  # else only the browser's cookie is left to forget
            await end_this_session(state, request)
        said = "You are signed out. Your personal code, if you made one, signs you back in."
        return Redirect(
            "/?" + urlencode(notice_params(request, said, "/", reader=None, done=True)),
            cookies=[cookie_gone()],
        )

    @get("/jams/{jam_id:uuid}")
    async def jam_page(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        forum: Forum = None,
        sort: FromQuery[str] = "new",
        after: FromQuery[int | None] = None,
        offset: Offset = 0,
    ) -> Template:
        services: Services = state.services
        me = _member(await _me(services, request), jam_id)
        await caught_up(services, after, or_503=False)
        organizer = me.acts_as(Role.ORGANIZER, jam_id)
        sort = sort if sort in SORTS else "new"
        offset -= offset % PAGE_SIZE  # pages start at whole pages, so links stay aligned
        here = {"forum": forum, "sort": sort}

        def page_at(at: int) -> str:
            return "?" + urlencode({k: v for k, v in {**here, "offset": at}.items() if v})

        def read(cur: Cursor) -> tuple[Kept, tuple[str, ...]]:
            info = queries.jam_info(cur, str(jam_id))
            if info is None:
                raise NotFoundException(f"no jam with id {jam_id}")
            if forum and all(f.slug != forum for f in info.forums):
                raise NotFoundException(f"this jam has no forum {quoted(forum)}")
            ideas = queries.ideas(
                cur,
                str(jam_id),
                forum=forum or None,
                sort=sort,
                include_hidden=organizer,
                limit=PAGE_SIZE + 1,  # one more: is there a next page?
                offset=offset,
            )
            shown = ideas[:PAGE_SIZE]
            html = _render(
                request,
                "jam_ideas.html",
                ideas=shown,
                forum=forum,
                sort=sort,
                offset=offset,
                newer=page_at(offset - PAGE_SIZE) if offset else None,
                older=page_at(offset + PAGE_SIZE) if len(ideas) > PAGE_SIZE else None,
            )
            # The API's list of the same ideas has these tags: both are dropped together.
            tags = list_tags(str(jam_id), sort, (i.id for i in shown))
            return Kept(_msgpack.encode(_JamPage(info, html))), tags

        # Per kind of reader: an organizer's page shows hidden ideas, nobody else's may.
        key = ("jam page", jam_id, forum, sort, offset, organizer)
        body, position = await cached_at(services, key, after, read)
        assert body is not None  # `read` answers or raises
        page = _jam_page.decode(body.content)
        info = page.jam
        now = services.jam.now().astimezone(UTC)
        status, is_open = _status(info, now)
        # The form only for someone the jam lets post (another jam's participant would be refused).
        can_post = is_open and me is not None and not me.blocked and me.belongs_to(jam_id)
        blocked = me is not None and me.blocked and me.belongs_to(jam_id)
        return Template(
            "jam.html",
            context={
                "me": me,
                "jam": info,
                "forums": info.forums,
                "forum": forum,
                "sort": sort,
                # Output of the autoescaping jam_ideas.html: its user text is escaped already.
                "ideas_html": Markup(page.ideas_html),  # noqa: S704
                "status": status,
                "is_open": is_open,
                "can_post": can_post,
                "blocked": blocked,
                "blocked_text": BLOCKED_TEXT,
                "offset": offset,
                **_countdown(info, now),
                "position": position,
                # The same at each rendering for this reader: the page fetched again by the
                # back button and its restored form sent again posts nothing more.
                "idea_key": place_key(state.secret, me.id, jam_id) if me is not None else "",
            },
        )

    @post("/jams/{jam_id:uuid}/ideas")
    async def post_idea(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID], data: Form
    ) -> Redirect | Response[Any]:
        actor, key = signed_in(request, form=True), key_of(data, "forum", "title", "body")
        app: JamApplication = state.services.jam
        command = c.PostIdea(
            actor=actor,
            client_key=key,
            jam_id=jam_id,
            idea_id=app.new_id(actor, key),  # sent again, the same idea: nothing new
            forum=data.get("forum", ""),
            title=data.get("title", ""),
            body=data.get("body", ""),
        )
        try:
            before = await sync_to_thread(app.position)
            done = await sync_to_thread(app.handle, command)
        except (DomainError, ApplicationError) as exc:
            if typed := _typed_here(data, ("title", "body")):
                return refused_with_text(request, exc, typed)
            return _back(request, f"/jams/{jam_id}", str(exc))
        thread = f"/ideas/{done.id}"
        query = [("after", str(done.position))]
        if done.position <= before:  # the same form sent again (Back, a second click)
            query += notice_params(request, IDEA_REPEATED, thread, done=True)
        return Redirect(f"{thread}?{urlencode(query)}")

    @get("/ideas/{idea_id:uuid}")
    async def thread_page(
        self,
        state: State,
        request: Request[Any, Any, Any],
        idea_id: FromPath[UUID],
        after: FromQuery[int | None] = None,
    ) -> Template:
        services: Services = state.services
        who = viewer(request)
        if who is None:
            raise NotAuthorizedException(SIGN_IN_TO_READ)
        await caught_up(services, after, or_503=False)

        def read_mine() -> _Mine:
            # In one trip, what is the reader's own, read afresh for each: who they are (from
            # the event store: a block shows at once), their vote and flag; and the jam.
            me = _reader(services.jam, who)
            with services.views.reading() as cur:
                jam_id = queries.jam_of_idea(cur, str(idea_id))
                return _Mine(
                    me,
                    jam_id,
                    queries.jam_info(cur, jam_id) if jam_id else None,
                    queries.vote_value(cur, str(vote_id(idea_id, who))),
                    queries.flag_state(cur, str(idea_id), str(who)),
                    queries.position(cur),
                )

        person, jam_id, info, my_vote, flagged, position = await sync_to_thread(read_mine)
        me = _member(person, None)
        if jam_id is None or info is None:
            raise NotFoundException(f"no idea with id {idea_id}")
        jam = UUID(jam_id)
        _member(me, jam)  # before saying whether it is hidden
        organizer = me.acts_as(Role.ORGANIZER, jam)
        leader = me.acts_as(Role.LEADER, jam)
        member = not me.blocked and me.belongs_to(jam)
        now = services.jam.now().astimezone(UTC)
        status, is_open = _status(info, now)
        writes = member and is_open  # votes, comments and edits, unless the idea is hidden

        def shared(cur: Cursor, author: str | None = None) -> _ThreadPage | None:
            found = queries.thread(cur, str(idea_id), include_hidden=organizer, author=author)
            if found is None:
                return None
            shown = msgspec.structs.replace(found, comments=capped(found.comments, REPLY_DEPTH_MAX))
            html = _render(
                request,
                "thread_comments.html",
                **_comments_context(shown, organizer, writes),
                me=None,  # nobody's edit forms: their authors get the comments rendered apart
                csrf_input=_CSRF_HOLE,
                comment_key=_key_hole,
            )
            editable = sorted({c.author_id for c in _all_comments(shown) if not c.hidden})
            return _ThreadPage(shown, html, editable)

        def read(cur: Cursor) -> tuple[Kept, tuple[str, ...]] | None:
            page = shared(cur)
            # The API's thread has these tags: both are dropped together.
            tags = (thread_of(str(idea_id)), names_in(jam_id))
            return None if page is None else (Kept(_msgpack.encode(page)), tags)

        def read_own() -> tuple[_ThreadPage | None, int]:
            with services.views.reading() as cur:
                return shared(cur, author=str(me.id)), queries.position(cur)

        # Per kind of reader: organizers see hidden comments and their forms, and only
        # readers who may write get reply forms.
        key = ("thread page", idea_id, organizer, writes)
        body, shared_at = await cached_at(services, key, after, read)
        if body is not None:
            page: _ThreadPage | None = _thread_page.decode(body.content)
        elif organizer:
            page = None
        else:
            # Hidden from this reader, unless it is their own idea: read for them alone,
            # never kept, so no other reader of their kind is ever served it.
            page, shared_at = await sync_to_thread(read_own)
        if page is None:  # the idea is there, so hidden from this reader
            raise NotFoundException("This idea was hidden by an organizer.")
        thread = page.thread
        # Their own hidden idea, as its author reads it: read only, saying why it is hidden.
        own_hidden = thread.idea.hidden and not organizer
        # The live stream follows from the earliest of the reads the page is made of.
        position = min(position, shared_at)
        author_blocked = False
        if organizer:

            def read_blocked() -> tuple[bool, int]:
                with services.views.reading() as cur:
                    blocked = queries.is_blocked(cur, thread.idea.author_id)
                    return blocked, queries.position(cur)

            author_blocked, blocked_at = await sync_to_thread(read_blocked)
            position = min(position, blocked_at)
        mine = str(me.id) == thread.idea.author_id
        blocked = me.blocked and me.belongs_to(jam)
        can_write = writes and not thread.idea.hidden

        def comment_key(parent: str = "") -> str:
            return place_key(state.secret, me.id, idea_id, parent)

        def comments(csrf_input: str) -> Markup:
            """The comments for this reader: the shared rendering with its holes filled,
            or, if they may edit comments of theirs here, rendered for them alone."""
            if can_write and str(me.id) in page.editable:
                html = _render(
                    request,
                    "thread_comments.html",
                    **_comments_context(thread, organizer, writes),
                    me=me,
                    csrf_input=csrf_input,
                    comment_key=comment_key,
                )
            else:
                html = page.comments_html.replace(_CSRF_HOLE, csrf_input)
                html = _KEY_HOLE.sub(lambda hole: comment_key(hole[1]), html)
            # Output of the autoescaping thread_comments.html (its user text is escaped),
            # with our own token and keys in the holes.
            return Markup(html)  # noqa: S704

        return Template(
            "thread.html",
            context={
                "me": me,
                "thread": thread,
                "comments": comments,
                "jam": info,
                "organizer": organizer,
                "author_blocked": author_blocked,
                "my_vote": my_vote,
                "leader": leader and not own_hidden,
                "own_hidden": own_hidden,
                "status": status,
                "is_open": is_open,
                # Only what the jam would take: votes and comments while it is open; a flag
                # from someone other than its author at any time; nothing on a hidden idea.
                "can_write": can_write,
                # A hidden idea takes no votes or comments; a vote cast before still goes
                # (an organizer's: its author reads it without any form).
                "can_withdraw": writes and thread.idea.hidden and not own_hidden,
                "can_flag": member and not organizer and not mine and not thread.idea.hidden,
                "is_author": mine,  # edits their idea (and their comments) while they may write
                "flagged": flagged == "open" and not thread.idea.hidden,  # said, not the form
                # Their flag was looked at, and the idea kept: said, with the form again.
                "flag_reviewed": flagged == "reviewed" and not thread.idea.hidden,
                # Rendered hidden for a blocked reader: shown if they are unblocked meanwhile.
                "flag_shut": blocked and not organizer and not mine and not thread.idea.hidden,
                "comment_key": comment_key,
                **_countdown(info, now),
                "blocked": blocked,
                "blocked_text": BLOCKED_TEXT,
                "position": position,
            },
        )

    async def _form_command(
        self,
        state: State,
        request: Request[Any, Any, Any],
        command: c.Command,
        fallback: str,
        said: str | None = None,
        anchor: str = "",
        passed_on: tuple[type[Exception], ...] = (),
        repeat: tuple[int, str] | None = None,
        drop: tuple[str, ...] = (),
        typed: list[tuple[str, str]] | None = None,
    ) -> Redirect | Response[Any]:
        """Handle a form's command; back to its page, with `said` if it was done (for what
        the page itself would not show), or with why not. `anchor`: where on the page the
        result is (a new comment), so a long thread does not open at its top. `passed_on`:
        refusals raised to the caller rather than said. `repeat`: the log's end before the
        command, and what to say if it recorded nothing after it (a form sent again).
        `drop`: parameters of the page's address not to come back with. `typed`: what was
        typed, given back with a refusal on a page of its own (see `_typed_here`)."""
        try:
            done = await sync_to_thread(state.services.jam.handle, command)
        except passed_on:
            raise
        except (DomainError, ApplicationError) as exc:
            if typed:
                return refused_with_text(request, exc, typed)
            if isinstance(exc, ApplicationError):
                return _back(request, fallback, str(exc), drop=drop)
            # Refused by what the log holds (the jam closed meanwhile): the page waits for
            # the read models to hold it too, so it offers no form that is refused again.
            seen = await sync_to_thread(state.services.jam.position)
            return _after(_back(request, fallback, str(exc), drop=drop), seen)
        if repeat is not None and done.position <= repeat[0]:
            said = repeat[1]
        back = _back(request, fallback, said, done=True, drop=drop)
        return _after(back, done.position, anchor)

    @post("/ideas/{idea_id:uuid}/vote")
    async def vote(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect:
        value = {"1": 1, "-1": -1, "0": 0}.get(data.get("value", ""), 2)
        command = c.CastVote(actor=signed_in(request, form=True), idea_id=idea_id, value=value)
        back = f"/ideas/{idea_id}"
        return await self._form_command(state, request, command, back, anchor="votes")

    @post("/ideas/{idea_id:uuid}/comments")
    async def comment(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect | Response[Any]:
        parent = data.get("parent_id") or None
        try:
            parent_id = UUID(parent) if parent else None
        except ValueError:
            return _back(request, f"/ideas/{idea_id}", "that reply names no comment")
        actor, key = signed_in(request, form=True), key_of(data, "parent_id", "body")
        if key is not None:
            key = await sync_to_thread(_fresh_key, state.services.jam, actor, key, data)
        command = c.PostComment(
            actor=actor,
            client_key=key,
            comment_id=JamApplication.new_id(actor, key),  # sent again: nothing new
            idea_id=idea_id,
            body=data.get("body", ""),
            parent_id=parent_id,
        )
        back, anchor = f"/ideas/{idea_id}", f"c-{command.comment_id}"
        # Sent again (Back, a reload, the same words in the same place): nothing new is
        # recorded, and the reader is told so rather than left to look for a second one.
        before = await sync_to_thread(state.services.jam.position)
        again = "You posted these same words here already: nothing new was posted."
        return await self._form_command(
            state,
            request,
            command,
            back,
            anchor=anchor,
            repeat=(before, again),
            typed=_typed_here(data, ("body",)),
        )

    @post("/ideas/{idea_id:uuid}/edit")
    async def edit_idea(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect | Response[Any]:
        command = c.EditIdea(
            actor=signed_in(request, form=True),
            idea_id=idea_id,
            title=data.get("title", ""),
            body=data.get("body", ""),
        )
        typed = _typed_here(data, ("title", "body"))
        return await self._edit(state, request, command, f"/ideas/{idea_id}", typed=typed)

    @post("/comments/{comment_id:uuid}/edit")
    async def edit_comment(
        self, state: State, request: Request[Any, Any, Any], comment_id: FromPath[UUID], data: Form
    ) -> Redirect | Response[Any]:
        command = c.EditComment(
            actor=signed_in(request, form=True), comment_id=comment_id, body=data.get("body", "")
        )
        try:  # the thread it is on: where to go back to when the browser sends no Referer
            back = f"/ideas/{UUID(data.get('idea_id', ''))}"
        except ValueError:
            back = "/me"
        typed = _typed_here(data, ("body",))
        return await self._edit(state, request, command, back, f"c-{comment_id}", typed)

    async def _edit(
        self,
        state: State,
        request: Request[Any, Any, Any],
        command: c.EditIdea | c.EditComment,
        back: str,
        anchor: str = "",
        typed: list[tuple[str, str]] | None = None,
    ) -> Redirect | Response[Any]:
        """An author's edit, as the API's PATCH makes it. The form is offered to the author
        alone: anyone else's post was forged, so NotAuthor is the API's 403 (an error page),
        not a notice."""
        try:
            return await self._form_command(
                state,
                request,
                command,
                back,
                anchor=anchor,
                passed_on=(NotAuthor, ConflictingState),
                typed=typed,
            )
        except ConflictingState as exc:
            # Sent twice (a double click): the first went through, so the second changes
            # nothing. Said calmly, and the text is not handed back as if refused.
            if str(exc) != "the edit changes nothing":
                if typed:
                    return refused_with_text(request, exc, typed)
                return _back(request, back, str(exc))
            return _back(request, back, "Nothing to change: it already reads so.", done=True)

    @post("/ideas/{idea_id:uuid}/flags")
    async def flag(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect:
        command = c.FlagIdea(
            actor=signed_in(request, form=True), idea_id=idea_id, reason=data.get("reason", "")
        )
        # Said, so the flagger knows it went somewhere: the page shows no flags.
        thanks = "Thank you: the organizers will look at this idea."
        return await self._form_command(state, request, command, f"/ideas/{idea_id}", thanks)

    @post("/ideas/{idea_id:uuid}/moderation")
    async def moderate_idea(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect:
        action = data.get("action", "")
        kinds = {"hide": c.HideIdea, "restore": c.RestoreIdea, "dismiss": c.DismissFlags}
        if action not in kinds:  # never a guess: a mistyped action hid the idea
            return _back(request, f"/ideas/{idea_id}", "choose to hide, restore or dismiss")
        command = kinds[action](
            actor=signed_in(request, form=True), idea_id=idea_id, reason=data.get("reason", "")
        )
        said = _MODERATED[action]
        return await self._form_command(state, request, command, f"/ideas/{idea_id}", said)

    @post("/ideas/{idea_id:uuid}/decision")
    async def decide(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect:
        command = c.RecordDecision(
            actor=signed_in(request, form=True),
            idea_id=idea_id,
            decision=data.get("decision", ""),
            note=data.get("note", ""),
        )
        said = "Decision recorded."
        if "as_of" in parse_qs(urlsplit(request.headers.get("referer", "")).query):
            # Sent from the shortlist as it was: a decision is made now, and shows there.
            said = "Decision recorded. This is the current shortlist, where the decision shows."
        # Back to the idea on the shortlist (#idea-...), a long page, not to its top.
        back, anchor = f"/ideas/{idea_id}", f"idea-{idea_id}"
        return await self._form_command(
            state, request, command, back, said, anchor, drop=("as_of",)
        )

    @post("/jams/{jam_id:uuid}/schedule")
    async def schedule(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID], data: Form
    ) -> Redirect:
        actor = signed_in(request, form=True)
        back = f"/jams/{jam_id}/central"
        command: c.Command
        if data.get("close"):
            if data.get("confirm") != "yes":
                return _back(request, back, "tick the box to confirm: a closed jam stays closed")
            command = c.CloseJam(actor=actor, jam_id=jam_id, reason=data.get("reason", ""))
            said = "The jam is closed."
        else:
            try:  # the form's own field gives no offset and means UTC
                typed = data.get("ends_at", "")
                ends_at = _typed_time(typed, "the new end", "2030-05-04T18:00", "ends_at")
            except ValueError as exc:
                return _back(request, back, str(exc))
            command = c.ExtendJam(actor=actor, jam_id=jam_id, ends_at=ends_at)
            said = f"The jam now ends {ends_at:%Y-%m-%d %H:%M} UTC."
        return await self._form_command(state, request, command, back, said)

    @post("/jams/{jam_id:uuid}/forums")
    async def add_forum(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID], data: Form
    ) -> Redirect:
        actor = signed_in(request, form=True)
        back = f"/jams/{jam_id}/central"
        title = data.get("title", "")
        # The address name is made from the title unless the organizer gave one.
        typed = data.get("slug", "").strip()
        if not normalise(title, multiline=False):  # spaces, or characters showing nothing
            return _back(request, back, "give the forum a title")
        slug = typed or slug_for(title, await forum_slugs(state.services, jam_id))
        try:
            require_slug(slug)
        except InvalidValue:  # said in the form's words, not the rules'
            return _back(request, back, BAD_ADDRESS_NAME)
        forum = c.ForumSpec(slug, title, data.get("description", ""))
        command = c.AddForum(actor=actor, jam_id=jam_id, forum=forum)
        said = f"The forum “{normalise(title, multiline=False)[:120]}” is added: ?forum={slug}."
        # To the page's top, where the notice is (the forums' list shows it too).
        return await self._form_command(state, request, command, back, said)

    @post("/jams")
    async def create_jam(
        self, state: State, request: Request[Any, Any, Any], data: Form
    ) -> Redirect:
        actor = signed_in(request, form=True)
        try:
            starts = data.get("starts_at", "").strip()
            starts_at = _typed_time(starts, "the start", "2030-05-04T09:00")
            ends_at = _typed_time(data.get("ends_at", "").strip(), "the end", "2030-05-07T09:00")
            forums = _forums_of(data.get("forums", ""))
        except ValueError as exc:
            return _back(request, "/", str(exc))
        # Sent again as it was (a double click, Back and send), the same jam: nothing new.
        key = key_of(data, "title", "description", "starts_at", "ends_at", "forums")
        app: JamApplication = state.services.jam
        command = c.CreateJam(
            actor=actor,
            client_key=key,
            jam_id=app.new_id(actor, key),
            title=data.get("title", ""),
            description=data.get("description", ""),
            forums=tuple(forums),
            starts_at=starts_at,
            ends_at=ends_at,
        )
        try:
            before = await sync_to_thread(app.position)
            done = await sync_to_thread(app.handle, command)
        except NotPermitted:
            raise  # offered to organizers of every jam alone: anyone else's post is forged
        except (DomainError, ApplicationError) as exc:
            return _back(request, "/", str(exc))
        central = f"/jams/{done.id}/central"
        said = (
            JAM_REPEATED
            if done.position <= before
            else "The jam is created. Invite people to it under “Invite people” below."
        )
        query = [("after", str(done.position)), *notice_params(request, said, central, done=True)]
        return Redirect(f"{central}?{urlencode(query)}")

    @post("/jams/{jam_id:uuid}/invites")
    async def invite(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID], data: Form
    ) -> Template | Redirect:
        services: Services = state.services
        actor = signed_in(request, form=True)
        # Offered in Jam Central alone: anyone else's post is forged, refused as the API
        # refuses it (403) before each of up to a thousand commands is refused.
        me = await require_role_of(services, actor, jam_id, {Role.ORGANIZER}, "invite people")
        back = f"/jams/{jam_id}/central"
        try:
            ask = _invites_asked(data)
        except ValueError as exc:
            return _back(request, back, str(exc))
        key = key_of(data, "role", "segment", "count", "uses")
        before = await sync_to_thread(services.jam.position)
        try:
            invites = await issue_codes(state, actor, jam_id, ask, key)
        except NotPermitted:
            raise
        except (DomainError, ApplicationError) as exc:
            return _back(request, back, str(exc))

        def read() -> JamInfo | None:
            with services.views.reading() as cur:
                return queries.jam_info(cur, str(jam_id))

        # Secrets: shown in the answer to this POST alone, as a personal code is, never in
        # an address or a notice, and kept in no cache.
        context = {
            "me": me,
            "jam": await sync_to_thread(read),
            "jam_id": jam_id,
            "codes": invites.codes,
            "ask": ask,
            "repeated": invites.position <= before,
            "repeated_text": CODES_REPEATED,
            "post_answer": True,
        }
        return Template("invite_codes.html", context=context, headers=NO_STORE)

    @post("/jams/{jam_id:uuid}/alert")
    async def alert(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID], data: Form
    ) -> Redirect:
        actor = signed_in(request, form=True)
        message = data.get("message", "").strip()
        command: c.Command = (
            c.SendAlert(actor=actor, jam_id=jam_id, message=message)
            if message
            else c.ClearAlert(actor=actor, jam_id=jam_id)
        )
        said = "The alert is shown on every page of the jam." if message else "The alert is down."
        return await self._form_command(state, request, command, f"/jams/{jam_id}/central", said)

    @get("/me")
    async def my_activity(self, state: State, request: Request[Any, Any, Any]) -> Template:
        services: Services = state.services
        who = signed_in(request)
        activity = await activity_of(services, who)
        me = await _me(services, request)

        def touched() -> tuple[list[Touched], list[Touched]]:
            with services.views.reading() as cur:
                return queries.commented_on(cur, str(who)), queries.voted_on(cur, str(who))

        commented, voted = await sync_to_thread(touched)
        context = {
            "me": me,
            "activity": activity,
            "commented": commented,
            "voted": voted,
            "request_key": secrets.token_urlsafe(16),
        }
        return Template("me.html", context=context, headers=NO_STORE)

    @post("/comments/{comment_id:uuid}/moderation")
    async def moderate_comment(
        self, state: State, request: Request[Any, Any, Any], comment_id: FromPath[UUID], data: Form
    ) -> Redirect:
        back = f"/ideas/{data.get('idea_id', '')}"
        if data.get("action") not in ("hide", "restore"):
            return _back(request, back, "choose to hide or restore the comment")
        restore = data.get("action") == "restore"
        command = (c.RestoreComment if restore else c.HideComment)(
            actor=signed_in(request, form=True),
            comment_id=comment_id,
            reason=data.get("reason", ""),
        )
        said = "The comment is restored." if restore else "The comment is hidden."
        return await self._form_command(state, request, command, back, said)

    @post("/participants/{participant_id:uuid}/moderation")
    async def moderate_participant(
        self,
        state: State,
        request: Request[Any, Any, Any],
        participant_id: FromPath[UUID],
        data: Form,
    ) -> Redirect:
        action, actor = data.get("action"), signed_in(request, form=True)
        if action not in ("block", "unblock"):
            return _back(request, "/", "choose to block or unblock")
        kind = c.BlockParticipant if action == "block" else c.UnblockParticipant
        command = kind(actor=actor, participant_id=participant_id, reason=data.get("reason", ""))
        said = (
            "Blocked: they can read, no longer write."
            if action == "block"
            else "Unblocked: they can write again."
        )
        return await self._form_command(state, request, command, "/", said)

    @get("/jams/{jam_id:uuid}/central")
    async def central_page(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        after: FromQuery[int | None] = None,
        topics_at: FromQuery[str | None] = None,  # empty: now (the timeline's "live")
    ) -> Template:
        services: Services = state.services
        await caught_up(services, after, or_503=False)
        me = await require_role(services, request, jam_id, {Role.ORGANIZER})
        now = services.jam.now().astimezone(UTC)
        topics_at = page_time(topics_at, "topics_at")

        def read() -> tuple[Any, JamCentral, Any, int]:
            with services.views.reading() as cur:
                return (
                    queries.jam_info(cur, str(jam_id)),
                    queries.jam_central(cur, str(jam_id), now),
                    queries.moderation_queue(cur, str(jam_id)),
                    queries.position(cur),
                )

        info, central, queue, position = await sync_to_thread(read)
        if info is None:
            raise NotFoundException(f"no jam with id {jam_id}")
        # Organizers only (above): they see hidden ideas.
        topics = await sync_to_thread(read_topics, services, str(jam_id), topics_at, True)
        duplicates = await sync_to_thread(read_duplicates, services, str(jam_id))
        return Template(
            "central.html",
            context={
                "me": me,
                "jam": info,
                "central": central,
                "queue": queue,
                "chart": activity_chart(
                    central,
                    now,
                    starts_at=datetime.fromisoformat(info.starts_at),
                    ends_at=datetime.fromisoformat(info.ends_at),
                    closed_at=datetime.fromisoformat(info.closed_at) if info.closed_at else None,
                ),
                "position": position,
                "topics": topics,
                # Laid out in a worker thread: many topics take a tenth of a second or more.
                "topic_map": await sync_to_thread(topic_map, topics.clusters if topics else []),
                "topics_at": topics_at.isoformat() if topics_at else "",
                "timeline": _past_hours(topics.history if topics else [], now, topics_at),
                "duplicates": duplicates,
                "status": _status(info, now)[0],
                # A jam closed early stays closed; one past its end can still be extended.
                "can_extend": info.closed_at is None,
                "can_close": info.closed_at is None and now < datetime.fromisoformat(info.ends_at),
                # New at each rendering, unlike the keys of ideas and comments: a second
                # batch of the same kind is more codes, while this form sent twice (a double
                # click, a reload of its answer) shows the codes it made and makes none.
                "invite_key": secrets.token_hex(16),
                "max_invites": MAX_INVITES,
                "max_uses": MAX_INVITE_USES,
            },
        )

    @post("/jams/{jam_id:uuid}/topics")
    async def topic_form(
        self, state: State, request: Request[Any, Any, Any], jam_id: FromPath[UUID], data: Form
    ) -> Redirect:
        back = f"/jams/{jam_id}/central"
        who = {"actor": signed_in(request, form=True)}
        try:
            change = msgspec.convert(
                {k: data.get(k, "") for k in ("action", "label", "into")}, TopicChange
            )
            cluster_id = data.get("cluster_id", "")
            done = await change_topic(state, who, jam_id, cluster_id, change)
        except msgspec.ValidationError as exc:
            if "$.label" in str(exc):
                return _back(request, back, f"a topic's label is 1 to {LABEL_MAX} characters")
            return _back(request, back, "choose what to do with the topic")
        except (DomainError, ApplicationError, HTTPException) as exc:
            said = getattr(exc, "detail", None) or str(exc)
            # The rules say "cluster"; the page, like the organizer, says "topic".
            return _back(request, back, re.sub(r"\b(topic )?cluster\b", "topic", said))
        wait = round(state.services.settings.topic_refresh_s)
        said = _TOPIC_CHANGED[change.action] + _TOPICS_FOLLOW.format(s=wait)
        query = [*notice_params(request, said, back, done=True), ("after", str(done.position))]
        return Redirect(f"{back}?{urlencode(query)}")

    @post("/ideas/{idea_id:uuid}/duplicate")
    async def duplicate(
        self, state: State, request: Request[Any, Any, Any], idea_id: FromPath[UUID], data: Form
    ) -> Redirect:
        actor = signed_in(request, form=True)
        command: c.Command
        if data.get("action") == "unmark":
            command = c.UnmarkDuplicate(actor=actor, idea_id=idea_id)
        else:
            try:
                original = UUID(data.get("original_id", ""))
            except ValueError:
                return _back(request, f"/ideas/{idea_id}", "choose the original idea")
            command = c.MarkDuplicate(actor=actor, idea_id=idea_id, original_id=original)
        said = (
            "No longer a duplicate: its votes count for itself again."
            if data.get("action") == "unmark"
            else "Marked as a duplicate: its votes count with the original."
        )
        # Marked from the list of likely duplicates in Jam Central, a long page: back to the
        # list (the pair marked leaves it, so not to the pair itself). Unmarked from the
        # thread: back to its top, which says what it is now.
        back = f"/ideas/{idea_id}"
        anchor = "" if data.get("action") == "unmark" else "duplicates"
        return await self._form_command(state, request, command, back, said, anchor)

    @get("/jams/{jam_id:uuid}/leadership/as-of")
    async def shortlist_as_of(
        self,
        state: State,
        request: Request[Any, Any, Any],
        jam_id: FromPath[UUID],
        as_of: FromQuery[str] = "",
        clean: FromQuery[str] = "true",
    ) -> Redirect:
        """The shortlist's "as of" form: an empty time means now, a time without a zone UTC
        (the shortlist itself wants a zone), a bad one a notice instead of a JSON error."""
        page = f"/jams/{jam_id}/leadership"
        query = [("clean", "false" if clean == "false" else "true")]
        try:
            at = page_time(as_of)
        except ValidationException:
            query += notice_params(request, "give the time as 2030-05-02T12:00 (UTC)", page)
            return Redirect(f"{page}?{urlencode(query)}")
        if at is not None:
            if at > state.services.jam.now():
                # Not yet: the ranking now, said to be now, not labelled with that time.
                query += notice_params(
                    request, "that time has not come yet: this is the shortlist now", page
                )
                return Redirect(f"{page}?{urlencode(query)}")
            query.append(("as_of", at.isoformat()))
        return Redirect(f"{page}?{urlencode(query)}")
