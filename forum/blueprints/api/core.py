"""The forum's JSON API: accounts, tokens, boards, threads and posts."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from forum import permissions, queries, ratelimits
from forum.auth import bearer_token
from forum.logs import security_event
from forum.services import accounts, posting
from forum.services.errors import NotAuthenticated
from forum.support import own_words

from . import schemas
from .common import actor, error_responses, post_dict, screening_dict, signed_in, thread_dict, user_dict

blp = Blueprint("api_core", __name__, url_prefix="/api/v1", description="Accounts, boards, threads and posts")


_document_errors = error_responses(blp)
_signed_in = signed_in(blp)


@blp.route("/users", methods=["POST"])
@ratelimits.limited("register")
@blp.arguments(schemas.UserCreate)
@blp.response(201, schemas.UserOut)
@_document_errors
def create_user(body: dict[str, Any]) -> Any:
    user = accounts.register(body["username"], body["password"], email=body.get("email"))
    security_event("register", user_id=user.id, via="api")
    return user_dict(user)


@blp.route("/tokens", methods=["POST"])
@blp.arguments(schemas.TokenCreate)
@blp.response(201, schemas.TokenOut)
@_document_errors
def create_token(body: dict[str, Any]) -> Any:
    ratelimits.enforce_login_attempt(body["username"])
    try:
        user = accounts.authenticate(body["username"], body["password"])
    except NotAuthenticated as error:
        ratelimits.record_failed_login(body["username"])
        security_event("login_failed", via="api", outcome=error.code)
        raise
    security_event("token_issued", user_id=user.id)
    return {"token": accounts.issue_token(user)}


@blp.route("/tokens/current", methods=["DELETE"])
@blp.response(204)
@blp.doc(security=[{"bearer": []}])
@_document_errors
def revoke_current_token() -> Any:
    token = bearer_token(request)
    if token is None or not accounts.revoke_token(token):
        raise NotAuthenticated("Send the token to revoke as a Bearer token.")
    return None


@blp.route("/boards", methods=["GET"])
@blp.response(200, schemas.BoardOut(many=True))
@_document_errors
def list_boards() -> Any:
    return queries.boards()


@blp.route("/boards/<slug>/threads")
class BoardThreads(MethodView):
    @blp.arguments(schemas.PageQuery, location="query")
    @blp.response(200, schemas.ThreadPage)
    @_document_errors
    def get(self, args: dict[str, Any], slug: str) -> Any:
        board = posting.get_board(slug)
        page = queries.board_threads(current_user, board, args["page"], current_app.config["THREADS_PER_PAGE"])
        return {"threads": [thread_dict(t) for t in page.items], "page": page.page, "pages": page.pages}

    @ratelimits.limited("thread", words=("title", "body"))
    @blp.arguments(schemas.ThreadCreate)
    @blp.response(201, schemas.ThreadCreated)
    @_signed_in
    @_document_errors
    def post(self, body: dict[str, Any], slug: str) -> Any:
        board = posting.get_board(slug)
        outcome = posting.create_thread(actor(), board, **body)
        return {
            "thread": thread_dict(outcome.thread),
            "post": post_dict(outcome.post),
            "screening": screening_dict(outcome.screen),
            "created": outcome.created,
        }


@blp.route("/threads/<int:thread_id>", methods=["GET"])
@blp.arguments(schemas.PageQuery, location="query")
@blp.response(200, schemas.ThreadDetail)
@_document_errors
def get_thread(args: dict[str, Any], thread_id: int) -> Any:
    thread = permissions.ensure_can_view_thread(current_user, posting.get_thread(thread_id))
    page = queries.thread_posts(thread, args["page"], current_app.config["POSTS_PER_PAGE"])
    return {**thread_dict(thread), "posts": [post_dict(p) for p in page.items], "page": page.page, "pages": page.pages}


@blp.route("/threads/<int:thread_id>/posts", methods=["POST"])
@ratelimits.limited("post", words=("body",))
@blp.arguments(schemas.PostCreate)
@blp.response(201, schemas.PostCreated)
@_signed_in
@_document_errors
def create_post(body: dict[str, Any], thread_id: int) -> Any:
    member = actor()
    thread = posting.get_thread(thread_id)
    outcome = posting.create_reply(member, thread, **body)
    return {"post": post_dict(outcome.post), "screening": screening_dict(outcome.screen), "created": outcome.created}


@blp.route("/posts/<int:post_id>")
class PostResource(MethodView):
    @own_words("body")
    @blp.arguments(schemas.PostPatch)
    @blp.response(200, schemas.PostCreated)
    @_signed_in
    @_document_errors
    def patch(self, body: dict[str, Any], post_id: int) -> Any:
        member = actor()
        outcome = posting.edit_post(member, posting.get_post(post_id), **body)
        return {"post": post_dict(outcome.post), "screening": screening_dict(outcome.screen), "created": False}

    @blp.response(204)
    @_signed_in
    @_document_errors
    def delete(self, post_id: int) -> Any:
        member = actor()
        posting.delete_post(member, posting.get_post(post_id))
        return None
