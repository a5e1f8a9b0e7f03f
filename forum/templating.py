"""Template globals (permission answers, dates, the support panel, links) and kept HTML.

Kept HTML is what the hot pages reuse between requests: each post of a thread page, each row of a board
page, the reply form, the site header. Each piece is rendered from one value (a view) that holds everything
it shows, is kept under that value, and is rendered without the page globals, so it can be neither stale
nor another person's; per-request values (a CSRF token, a fresh idempotency key) go into holes left for
them.
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import jinja2
from flask import Flask, current_app, has_request_context, request, session, url_for
from flask.templating import Environment as FlaskEnvironment
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from forum import permissions, queries

_LINKS = "hearth.links"
_FRAGMENTS = "hearth.fragments"
_FRAGMENT_ENV = "hearth.fragment_env"
_HEADERS = "hearth.headers"
# Links a page builds from a handful of arguments (menus, breadcrumbs, static files). Past this many
# distinct ones the oldest half is dropped: links with ids in them should use url_by_id instead.
LINK_CACHE_SIZE = 1024


class TemplateEnvironment(FlaskEnvironment):
    """Flask's Jinja environment, with each template's globals a plain dict made when the template loads.

    Jinja makes them a ChainMap over the environment's globals. Every render then copied that map into its
    context, and every {% from ... import %} compared the names again, both with a Python-level lookup per
    name: with this app's 55 globals, 0.15 ms and 0.09 ms on a slow day, about a twentieth of a thread
    page. The app registers all its globals while it is created, before any template loads (a test checks
    that templates see them all); a global added later would reach only templates loaded after it.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(permissions.TEMPLATE_HELPERS)
    app.jinja_env.globals["author_name"] = author_name
    app.jinja_env.globals["support_content"] = support_content
    app.jinja_env.globals["url_by_id"] = url_by_id
    app.jinja_env.globals["url_for"] = link
    app.jinja_env.globals["post_url"] = post_url
    app.jinja_env.globals["ID"] = ID
    app.jinja_env.globals["site_header"] = site_header
    app.jinja_env.globals["suggested_guides"] = suggested_guides
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["wait"] = wait
    app.extensions[_LINKS] = {}
    app.context_processor(_context)


def _context() -> dict[str, Any]:
    # The real user object, not the LocalProxy: templates ask about it dozens of times per page.
    return {"me": current_user._get_current_object(), "pending_support": session.get("support")}


def link(endpoint: str, **values: Any) -> str:
    """url_for, remembered per app: the layout alone asks for the same twenty links on every page.

    A relative link is a pure function of the endpoint, its values and the request's script root, as long
    as no url_defaults callback adds values and rules do not depend on the host; otherwise (and for
    external, method or blueprint-relative links) this is plain url_for."""
    if not has_request_context() or (values and not _is_plain(values)):
        return url_for(endpoint, **values)
    key = (request.script_root, endpoint, *sorted(values.items())) if values else (request.script_root, endpoint)
    links: dict[tuple[Any, ...], str] = current_app.extensions[_LINKS]
    found = links.get(key)
    if found is not None:
        return found
    found = url_for(endpoint, **values)
    if endpoint[:1] != "." and _links_are_pure(current_app):
        if len(links) >= LINK_CACHE_SIZE:
            for old in list(links)[: LINK_CACHE_SIZE // 2]:
                del links[old]
        links[key] = found
    return found


def post_url(post: Any, *, anchor: str | None = None) -> str:
    """A post on its page of the thread: every link to a post (redirects, bookmarks, search, notifications,
    the moderation queue) goes where the post is, not to the thread's first page. `anchor`: another place
    on that page to land on (the post's own by default)."""
    page = queries.page_of_post(post, current_app.config["POSTS_PER_PAGE"])
    return url_for("boards.thread", thread_id=post.thread_id, page=page, _anchor=anchor or f"p{post.id}")


def _is_plain(values: dict[str, Any]) -> bool:
    # No _external/_anchor/_method/_scheme, and values of the types a key tells apart (True == 1 as a key,
    # but not in a URL, so no booleans).
    return not any(name[:1] == "_" or type(value) not in _PLAIN for name, value in values.items())


_PLAIN = (str, int, type(None))


def _links_are_pure(app: Any) -> bool:
    return not app.url_default_functions and not app.url_map.host_matching and not app.subdomain_matching


class HeaderView(NamedTuple):
    """All the site header shows, and so the key its HTML is kept under (templates/_site_header.html)."""

    script_root: str  # the links start with it
    username: str | None  # None for a guest
    staff: bool  # sees the moderation queue
    messages: int  # unread moderator messages
    notifications: int  # unread notifications


HEADER_CACHE_SIZE = 1024


def site_header() -> Markup:
    """The header and main menu: the same for every page a person sees until their badges change, so
    kept per HeaderView, with this request's CSRF token put in the sign-out form."""
    me = current_user._get_current_object()  # type: ignore[attr-defined]
    member = permissions.signed_in(me)
    unread = queries.unread(member)
    view = HeaderView(
        request.script_root,
        member.username if member is not None else None,
        permissions.can_see_queue(member),
        unread.moderator_messages,
        unread.notifications,
    )
    headers = kept(_HEADERS, HEADER_CACHE_SIZE)
    html = headers.get(view)
    if html is None:
        template = fragment_template("_site_header.html")
        html = render_slotted(lambda token: template.render(v=view, token=token, url=link), "token")
        headers.put(view, html)
    return html.fill(token=generate_csrf() if member is not None else "")  # type: ignore[no-any-return]


class SuggestedGuides(NamedTuple):
    """A list of suggested guides as templates/guides/_suggested.html shows it, and the key it is kept under."""

    heading: str
    guides: tuple[tuple[str, str, str], ...]  # (url, title, summary)


def suggested_guides(guides: list[Any], heading: str) -> Markup:
    """The suggested guides block, or nothing when there are none."""
    if not guides:
        return Markup("")
    view = SuggestedGuides(heading, tuple((link("guides.guide", slug=g.slug), g.title, g.summary) for g in guides))
    return Markup("".join(fragments("guides/_suggested.html", GUIDES_CACHE_SIZE).render(view)))  # noqa: S704  (an autoescaped template's output)


GUIDES_CACHE_SIZE = 256


# Stands for the id in url_by_id(). Above any id the database hands out (ids are 32-bit), so it can only
# match the place where an id was asked for.
ID = 2**31 + 12345


def url_by_id(endpoint: str, anchor: str = "", **values: Any) -> Callable[[int], str]:
    """url_for once per page for links that differ only by one id: pass ID where that id goes.

    A page of posts or threads otherwise builds the same route dozens of times."""
    head, _, tail = link(endpoint, **values).partition(str(ID))
    return lambda id_: f"{head}{id_}{tail}{anchor}"


def when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d %b %Y, %H:%M UTC")


def wait(seconds: int) -> str:
    """A wait as people say it: "a few seconds", "4 minutes", "about an hour", not "3567 seconds"."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = round(seconds / 60)
    if minutes < 50:
        return "a minute" if minutes == 1 else f"{minutes} minutes"
    hours = round(minutes / 60)
    return "about an hour" if hours <= 1 else f"about {hours} hours"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


ANONYMOUS_NAME = "a member"


def author_name(viewer: Any, post: Any) -> str:
    # Anonymous first: an anonymous post that turned into "a former member" when its author left would be
    # linked to their named posts, which turn at the same moment.
    if post.is_anonymous and not permissions.can_see_author(viewer, post):
        return ANONYMOUS_NAME
    if post.author is None:
        return "a former member"
    return str(post.author.username)


def public_author_name(post: Any) -> str:
    """The name anyone may see on `post`: what a quote carries into a reply, whoever writes the reply."""
    return author_name(None, post)


class Fragments:
    """HTML rendered once per distinct view and kept: a post of a thread page, a row of a board page.

    The view (any hashable value, usually a frozen dataclass or named tuple) is the whole input and the
    key, so the HTML can never be stale or shown to someone it was not rendered for, as long as the view
    holds everything that differs between them. The template gets `v` (the view) and `token`, a marker
    where the viewer's CSRF token goes; the output is kept split at the marker (fill it with
    token.join(parts)). The marker is random and made after the content was written, so nothing a member
    writes can be taken for it."""

    def __init__(self, app: Flask, template: str, size: int) -> None:
        self.template = _fragment_environment(app).get_template(template)
        self.render: Callable[[Any], tuple[str, ...]] = lru_cache(maxsize=size)(self._render)

    def _render(self, view: Any) -> tuple[str, ...]:
        slot = secrets.token_hex(16)
        return tuple(ascii_html(self.template.render(v=view, token=slot)).split(slot))


class Kept:
    """A map of at most `size` entries; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: Any, value: Any) -> None:
        if self.size <= 0:
            return
        self.entries[key] = value
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)


def kept(name: str, size: int) -> Kept:
    """The app's Kept map of this name; it keeps nothing while templates reload on change (development)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(name)
    if found is None:
        found = app.extensions[name] = Kept(0 if app.jinja_env.auto_reload else size)
    return found  # type: ignore[no-any-return]


class Slotted(NamedTuple):
    """Kept HTML with holes for the values that differ on every request (a CSRF token, a fresh key)."""

    parts: tuple[str, ...]
    holes: tuple[str, ...]  # the name of the value after each part but the last

    def fill(self, **values: str) -> Markup:
        """The HTML with each hole filled (values are escaped here)."""
        escaped = {name: str(escape(value)) for name, value in values.items()}
        out = [self.parts[0]]
        for hole, part in zip(self.holes, self.parts[1:], strict=True):
            out += (escaped[hole], part)
        return Markup("".join(out))  # noqa: S704  (autoescaped output, escaped values)


def ascii_html(html: str) -> str:
    """The HTML with every character beyond ASCII written as a character reference (&#8217;): the same
    page to a browser, in text and in attributes alike (kept HTML has no <script> or <style>, where
    references are not read). Kept HTML is most of a page, and a response that is all ASCII is encoded by
    copying it, while one curly quote anywhere makes Python encode the whole page character by character:
    0.27 ms for a thread page of 145 KB, a twentieth of its time."""
    return html if html.isascii() else html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def render_slotted(render: Callable[..., str], *holes: str) -> Slotted:
    """Call render(**markers), one random marker per hole, and cut the HTML where the markers are. A marker
    is made after everything the HTML shows was written, so nothing a member writes can be taken for it."""
    markers = {secrets.token_hex(16): hole for hole in holes}
    pieces = re.split("(" + "|".join(markers) + ")", ascii_html(render(**{hole: m for m, hole in markers.items()})))
    return Slotted(tuple(pieces[0::2]), tuple(markers[m] for m in pieces[1::2]))


def fragments(template: str, size: int) -> Fragments:
    """The app's Fragments for this template. Nothing is kept while templates reload on change
    (development), so an edited template shows at once."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    registry: dict[str, Fragments] = app.extensions.setdefault(_FRAGMENTS, {})
    found = registry.get(template)
    if found is None:
        found = registry[template] = Fragments(app, template, 0 if app.jinja_env.auto_reload else size)
    return found


def fragment_template(name: str) -> jinja2.Template:
    """A template of the current app rendered like Fragments' (no page globals), for kept HTML of other shapes."""
    return _fragment_environment(current_app).get_template(name)


def _fragment_environment(app: Flask) -> jinja2.Environment:
    found = app.extensions.get(_FRAGMENT_ENV)
    if found is None:
        found = app.extensions[_FRAGMENT_ENV] = _new_fragment_environment(app)
    return found  # type: ignore[no-any-return]


def _new_fragment_environment(app: Flask) -> jinja2.Environment:
    """Fragment templates must depend on nothing but the values they are given, or one person's page
    could leak into another's. So they get none of the page globals (no current user, session, CSRF token,
    request or url_for), and using anything they were not given is an error instead of an empty string."""
    env = jinja2.Environment(
        loader=app.jinja_loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=app.jinja_env.auto_reload,
        # A block tag's line leaves nothing behind: a thread page repeats these fragments fifty times, and
        # their indentation and blank lines were a tenth of its bytes.
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["iso"] = iso
    return env


def support_content(level: str, guide_slugs: list[str]) -> dict[str, Any]:
    """Words, crisis lines and guide links for the support panel."""
    from forum.guides import get_guide
    from forum.support import support_payload

    payload = support_payload(level, current_app.config["SUPPORT_REGION"], guide_slugs) or {}
    guides = [get_guide(slug) for slug in guide_slugs]
    return {
        "words": payload.get("words", []),
        "resources": payload.get("resources", []),
        "guides": [{"title": g.title, "url": url_for("guides.guide", slug=g.slug)} for g in guides if g],
    }
