"""Message endpoints (DESIGN.md, "Messages"): conversations and requests, messages after/before a sequence
number, accept, read, mute, delete for me, unsend, and the realtime ticket for API clients' WebSockets. Every
conversation endpoint answers 404 to a non-participant and 401 to an anonymous caller."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile
from pydantic import Field, StrictBool

from meadow.accounts.models import User
from meadow.core.errors import NotFound
from meadow.core.http import ModerationErrorOut, responses, token_or_session
from meadow.core.images import image_upload_openapi
from meadow.core.pagination import PageCursor, PageLimit
from meadow.core.schema import JSONId, JSONInt, Limits, NonBlankText, SafeNonBlankText, SafeText, Text
from meadow.core.storage import private_storage
from meadow.messaging import selectors, services
from meadow.messaging.cards import card_for_reader
from meadow.messaging.models import Conversation, Participant
from meadow.messaging.shapes import message_data, person_data

router = Router(tags=["messages"], auth=token_or_session)
PathId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Seq = Annotated[int, Field(ge=0, le=2**63 - 1)]


class ParticipantOut(Schema):
    handle: str
    display_name: str
    avatar: str | None
    verified: bool


class CardIn(Schema):
    type: Literal["note", "product", "order"]
    id: JSONId


class CardOut(Schema):
    """A card as the reader may see it: ``available`` false (and nothing but its type and id) for a note, a
    product or an order the reader may not see."""

    type: str
    id: int
    available: bool
    title: str | None
    url: str | None
    status: str | None = Field(description="An order's status; null for notes and products.")


class MessageImageOut(Schema):
    url: str = Field(description="Served to the conversation's participants only (session or token).")
    width: int
    height: int


class MessageOut(Schema):
    id: int
    conversation: int
    seq: int
    sender: ParticipantOut
    client_id: str
    text: str
    card: CardOut | None
    images: list[MessageImageOut]
    withdrawn: bool
    system: Literal["renamed"] | None = Field(
        description='A system line nobody wrote as a message: "renamed" (the sender renamed the group to '
        "``text``); null for an ordinary message."
    )
    created_at: datetime


class ConversationOut(Schema):
    id: int
    state: Literal["active", "request"]
    kind: Literal["direct", "group"]
    name: str | None = Field(description="A group's name; null for a direct conversation.")
    with_: ParticipantOut | None = Field(
        alias="with", description="The other person of a direct conversation; null for a group."
    )
    members: list[ParticipantOut] = Field(description="Everyone in the conversation but you.")


class ConversationItemOut(ConversationOut):
    last_message: MessageOut | None
    unread: int
    muted: bool


class ConversationPage(Schema):
    items: list[ConversationItemOut]
    next_cursor: str | None


class MemberReadOut(Schema):
    handle: str
    role: Literal["member", "admin"]
    read_seq: int | None = Field(description="How far they have read; null until they accept the group.")


class ConversationDetailOut(ConversationItemOut):
    seen_seq: int | None = Field(
        description="How far the other person has read; null for the sender of a request not yet accepted, "
        "and for a group (see ``read``)."
    )
    read: list[MemberReadOut] = Field(
        description='Everyone\'s role and read position ("Seen by n" in a group); empty for a direct conversation.'
    )


class MessagePage(Schema):
    items: list[MessageOut]
    next_cursor: str | None


class OpenIn(Schema):
    with_: Annotated[str, Limits(max_length=64, pattern=r"^@?[A-Za-z0-9._]{1,64}$")] = Field(alias="with")


Handle = Annotated[str, Limits(max_length=64, pattern=r"^@?[A-Za-z0-9._]{1,64}$")]


class GroupIn(Schema):
    with_: list[Handle] = Field(alias="with", min_length=1, max_length=100)
    name: Annotated[SafeNonBlankText, Limits(max_length=services.GROUP_NAME_MAX)]


class GroupRenameIn(Schema):
    name: Annotated[SafeNonBlankText, Limits(max_length=services.GROUP_NAME_MAX)]


class MembersIn(Schema):
    with_: list[Handle] = Field(alias="with", min_length=1, max_length=100)


class SendIn(Schema):
    text: Annotated[SafeText, Limits(max_length=services.MESSAGE_MAX)] = Field(
        default="", description="Required unless a card is sent."
    )
    client_id: Annotated[NonBlankText, Limits(max_length=services.CLIENT_ID_MAX)]
    card: CardIn | None = None


class ConversationReadIn(Schema):
    seq: Annotated[JSONInt, Limits(minimum=0, maximum=2**63 - 1)]


class MuteIn(Schema):
    muted: StrictBool


class TicketOut(Schema):
    ticket: str
    expires_in: int


def _abs(request: HttpRequest, person: dict) -> dict:
    if person.get("avatar"):
        person = {**person, "avatar": request.build_absolute_uri(person["avatar"])}
    return person


def _message(request: HttpRequest, message) -> dict:
    data = message_data(message)
    data["sender"] = _abs(request, data["sender"])
    data["card"] = card_for_reader(data["card"], reader=request.user)
    return data


def _conversation(
    request: HttpRequest, conversation: Conversation, other: User | None, members: list[User] | None = None
) -> dict:
    group = conversation.kind == Conversation.Kind.GROUP
    if members is None:
        members = [other] if other is not None else []
    return {
        "id": conversation.pk,
        "state": conversation.state,
        "kind": conversation.kind,
        "name": conversation.name if group else None,
        "with": None if group or other is None else _abs(request, person_data(other)),
        "members": [_abs(request, person_data(m)) for m in members],
    }


def _group(request: HttpRequest, conversation: Conversation) -> dict:
    members = [
        p.user for p in selectors.group_members(conversation=conversation) if p.user_id != request.user.pk
    ]
    return _conversation(request, conversation, None, members)


def _users(handles: list[str]) -> list[User]:
    """The active accounts of ``handles``, in order; 404 naming the first one that does not exist."""
    wanted = [h.lstrip("@").lower() for h in handles]
    found = {u.handle: u for u in User.objects.filter(handle__in=wanted, is_active=True)}
    for handle in wanted:
        if handle not in found:
            raise NotFound(f"@{handle}: " + str(_("This account does not exist.")), field="with")
    return [found[h] for h in dict.fromkeys(wanted)]


def _item(request: HttpRequest, row: Participant) -> dict:
    return {
        **_conversation(request, row.conversation, row.other, getattr(row, "members", None)),
        "last_message": _message(request, row.last_message) if row.last_message else None,
        "unread": row.unread,
        "muted": row.muted,
    }


@router.post(
    "/conversations", response=responses({201: ConversationOut, 200: ConversationOut}), by_alias=True
)
def conversation_open(request: HttpRequest, payload: OpenIn):
    """Open the conversation with ``with`` (a handle): 201 when new (``state`` ``request`` when they do not
    follow you), 200 with the same body when it exists; 403 ``blocked`` or ``not_allowed``."""
    other = User.objects.filter(handle=payload.with_.lstrip("@").lower(), is_active=True).first()
    if other is None:
        raise Http404
    conversation, created = services.conversation_open(user=request.user, other=other)
    return Status(201 if created else 200, _conversation(request, conversation, other))


# registered before the "/conversations/{conversation_id}" routes, so "groups" is never read as an id
@router.post("/conversations/groups", response=responses({201: ConversationOut}), by_alias=True)
def group_create(request: HttpRequest, payload: GroupIn):
    """Open a group named ``name`` with the people of ``with`` (handles; at least 2, at most
    ``MEADOW_MESSAGE_GROUP_MAX`` − 1): 201. Each one's "who may message me" and blocks are checked (403
    ``not_allowed`` / ``blocked`` naming them, 404 for an unknown handle); 400 ``too_few`` / ``too_many``."""
    members = _users(payload.with_)
    conversation = services.group_create(user=request.user, members=members, name=payload.name)
    return Status(201, _group(request, conversation))


@router.post(
    "/conversations/{conversation_id}/members", response=responses({200: ConversationOut}), by_alias=True
)
def group_members_add(request: HttpRequest, conversation_id: PathId, payload: MembersIn):
    """Add people to a group (its admins only: 403 ``not_admin``); they see the messages sent from now on."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.group_members_add(user=request.user, conversation=conversation, members=_users(payload.with_))
    return _group(request, conversation)


@router.patch(
    "/conversations/groups/{conversation_id}",
    response=responses({200: ConversationOut, 400: ModerationErrorOut}),
    by_alias=True,
)
def group_rename(request: HttpRequest, conversation_id: PathId, payload: GroupRenameIn):
    """Rename a group (its admins only: 403 ``not_admin``; 400 ``not_group`` for a direct conversation). The name
    is checked and moderated like a new group's; everyone in it gets the system line "… renamed the group to …"
    (a message whose ``system`` is ``renamed``)."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.group_rename(user=request.user, conversation=conversation, name=payload.name)
    return _group(request, conversation)


@router.delete("/conversations/{conversation_id}/members/{handle}", response=responses({204: None}))
def group_member_remove(request: HttpRequest, conversation_id: PathId, handle: Handle):
    """Remove a member (admins only; your own handle leaves the group). The removed person gets 404 from then on."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    [member] = _users([handle])
    services.group_member_remove(user=request.user, conversation=conversation, member=member)
    return Status(204, None)


@router.post("/conversations/{conversation_id}/leave", response=responses({204: None}))
def group_leave(request: HttpRequest, conversation_id: PathId):
    """Leave a group: it disappears for you (the earliest member becomes admin when the last admin leaves)."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.group_leave(user=request.user, conversation=conversation)
    return Status(204, None)


@router.get("/conversations", response=responses({200: ConversationPage}), by_alias=True)
def conversation_list(
    request: HttpRequest,
    box: Literal["inbox", "requests"] = "inbox",
    q: Annotated[Text, Limits(max_length=selectors.SEARCH_MAX)] = "",
    cursor: PageCursor = None,
    limit: PageLimit = None,
):
    """Your inbox, or your message requests (``box=requests``), latest activity first, with unread counts;
    ``q`` searches your conversations (a group's name, the other people's names or handles, and the messages'
    text)."""
    page = selectors.conversations_for_user(user=request.user, box=box, cursor=cursor, limit=limit, q=q)
    return {"items": [_item(request, row) for row in page["items"]], "next_cursor": page["next_cursor"]}


@router.get(
    "/conversations/{conversation_id}", response=responses({200: ConversationDetailOut}), by_alias=True
)
def conversation_detail(request: HttpRequest, conversation_id: PathId):
    participant = selectors.participant_get(user=request.user, conversation_id=conversation_id)
    conversation = participant.conversation
    everyone = selectors.group_members(conversation=conversation)
    participant.members = [p.user for p in everyone if p.user_id != request.user.pk]
    participant.other = participant.members[0] if participant.members else None
    participant.last_message = None
    participant.unread = max(
        0,
        conversation.last_seq - max(participant.last_read_seq, participant.deleted_before_seq),
    )
    group = conversation.kind == Conversation.Kind.GROUP
    return {
        **_item(request, participant),
        "seen_seq": selectors.other_read_seq(participant=participant),
        "read": [{"handle": p.user.handle, "role": p.role, "read_seq": p.shown_read_seq} for p in everyone]
        if group
        else [],
    }


@router.get("/conversations/{conversation_id}/messages", response=responses({200: MessagePage}))
def message_list(
    request: HttpRequest,
    conversation_id: PathId,
    after: Seq | None = None,
    before: Seq | None = None,
    cursor: PageCursor = None,
    limit: PageLimit = None,
):
    """Messages in ascending ``seq``: those after ``after`` (catching up), or the latest before ``before``
    (history); ``next_cursor`` continues in the same direction. Rate-limited per person (429 ``rate_limited``)."""
    participant = selectors.participant_get(user=request.user, conversation_id=conversation_id)
    services.resume_rate_check(user=request.user)
    page = selectors.messages_for_participant(
        participant=participant, after=after, before=before, cursor=cursor, limit=limit
    )
    return {"items": [_message(request, m) for m in page["items"]], "next_cursor": page["next_cursor"]}


@router.post(
    "/conversations/{conversation_id}/messages",
    response=responses({201: MessageOut, 200: MessageOut, 400: ModerationErrorOut}),
)
def message_send(request: HttpRequest, conversation_id: PathId, payload: SendIn):
    """Send a message: 201, or 200 with the stored message for a ``client_id`` already used; 400
    ``moderation_blocked`` with the findings when it is not delivered."""
    participant = selectors.participant_get(user=request.user, conversation_id=conversation_id)
    message, created = services.message_send(
        sender=request.user,
        conversation=participant.conversation,
        participant=participant,  # read just now with the conversation: the send does not read them again
        text=payload.text,
        client_id=payload.client_id,
        card=payload.card.dict() if payload.card else None,
    )
    return Status(201 if created else 200, _message(request, message))


class ImageSendForm(Schema):
    text: Annotated[SafeText, Limits(max_length=services.MESSAGE_MAX)] = ""
    client_id: Annotated[NonBlankText, Limits(max_length=services.CLIENT_ID_MAX)]


@router.post(
    "/conversations/{conversation_id}/messages/images",
    response=responses({201: MessageOut, 200: MessageOut, 400: ModerationErrorOut}),
    # The media types the service reads, and 1 to MEADOW_MESSAGE_IMAGES_MAX parts (the setting, read at start).
    openapi_extra=image_upload_openapi("images", counts={"images": (1, settings.MEADOW_MESSAGE_IMAGES_MAX)}),
)
def message_send_images(
    request: HttpRequest,
    conversation_id: PathId,
    form: Form[ImageSendForm],
    images: File[list[UploadedFile]],
):
    """Send a message with images (multipart: 1 to ``MEADOW_MESSAGE_IMAGES_MAX`` ``images`` parts, JPEG/PNG/WebP/
    HEIC, and an optional ``text``). Each image is re-encoded without metadata and scanned before anything is
    stored: a QR code leading off Meadow or explicit content answers 400 ``image_refused`` and nothing is sent.
    A repeated ``client_id`` answers 200 with the stored message."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    message, created = services.message_send(
        sender=request.user,
        conversation=conversation,
        text=form.text,
        client_id=form.client_id,
        images=images,
    )
    return Status(201 if created else 200, _message(request, message))


@router.get("/conversations/{conversation_id}/images/{image_id}", response=responses({200: None}))
def message_image(request: HttpRequest, conversation_id: PathId, image_id: PathId):
    """A message's image (WebP), for the conversation's participants only: 404 for anyone else, for a
    withdrawn message and for messages deleted for you; never cached by shared caches."""
    image = selectors.message_image_get(user=request.user, conversation_id=conversation_id, image_id=image_id)
    try:
        handle = private_storage().open(image.file, "rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/webp")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@router.post(
    "/conversations/{conversation_id}/accept", response=responses({200: ConversationOut}), by_alias=True
)
def conversation_accept(request: HttpRequest, conversation_id: PathId):
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.conversation_accept(user=request.user, conversation=conversation)
    if conversation.kind == Conversation.Kind.GROUP:
        return _group(request, conversation)
    other = selectors.conversation_other(conversation=conversation, user=request.user)
    return _conversation(request, conversation, other)


@router.post("/conversations/{conversation_id}/read", response=responses({204: None}))
def conversation_read(request: HttpRequest, conversation_id: PathId, payload: ConversationReadIn):
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.conversation_read(user=request.user, conversation=conversation, seq=payload.seq)
    return Status(204, None)


@router.post("/conversations/{conversation_id}/mute", response=responses({204: None}))
def conversation_mute(request: HttpRequest, conversation_id: PathId, payload: MuteIn):
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.conversation_mute(user=request.user, conversation=conversation, muted=payload.muted)
    return Status(204, None)


@router.delete("/conversations/{conversation_id}", response=responses({204: None}))
def conversation_delete(request: HttpRequest, conversation_id: PathId):
    """Delete for me: the messages so far are gone for you; the other person keeps theirs."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    services.conversation_delete_for_me(user=request.user, conversation=conversation)
    return Status(204, None)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/unsend", response=responses({200: MessageOut})
)
def message_unsend(request: HttpRequest, conversation_id: PathId, message_id: PathId):
    """Unsend your message within 2 minutes; it reads "message withdrawn" for everyone."""
    participant = selectors.participant_get(user=request.user, conversation_id=conversation_id)
    message = selectors.message_get(participant=participant, message_id=message_id)
    return _message(request, services.message_unsend(user=request.user, message=message))


@router.post("/realtime/ticket", response=responses({201: TicketOut}))
def realtime_ticket(request: HttpRequest):
    """A single-use ticket, valid for a minute, for ``/ws/messages/?ticket=…`` (clients without a session)."""
    ticket, seconds = services.realtime_ticket_issue(user=request.user)
    return Status(201, {"ticket": ticket, "expires_in": seconds})


# --- the business inbox ----------------------------------------------------------------------------------------
class QuickReplyIn(Schema):
    title: Annotated[NonBlankText, Limits(max_length=services.QUICK_REPLY_TITLE_MAX)]
    text: Annotated[NonBlankText, Limits(max_length=services.MESSAGE_MAX)]


class QuickReplyOut(Schema):
    id: int
    title: str
    text: str


class QuickReplyList(Schema):
    items: list[QuickReplyOut]


def _reply(reply) -> dict:
    return {"id": reply.pk, "title": reply.title, "text": reply.text}


@router.get("/me/quick-replies", response=responses({200: QuickReplyList}))
def quick_reply_list(request: HttpRequest):
    """A verified business's saved answers for its inbox (empty for other accounts)."""
    return {"items": [_reply(r) for r in selectors.quick_replies_for(owner=request.user)]}


@router.post("/me/quick-replies", response=responses({201: QuickReplyOut}))
def quick_reply_create(request: HttpRequest, payload: QuickReplyIn):
    """Save a quick reply (403 ``not_verified`` unless a verified business; 409 ``too_many`` past 30)."""
    reply = services.quick_reply_create(owner=request.user, title=payload.title, text=payload.text)
    return Status(201, _reply(reply))


@router.delete("/me/quick-replies/{reply_id}", response=responses({204: None}))
def quick_reply_delete(request: HttpRequest, reply_id: PathId):
    services.quick_reply_delete(owner=request.user, reply_id=reply_id)
    return Status(204, None)


# --- the business inbox: away message, team, assignment, response times --------------------------------------------
class AwayIn(Schema):
    text: Annotated[Text, Limits(max_length=services.MESSAGE_MAX)] = ""
    enabled: StrictBool
    hours_start: time | None = Field(
        default=None, description="Opening time; outside the hours you are away."
    )
    hours_end: time | None = None
    time_zone: Annotated[str, Limits(max_length=40)] = "Asia/Kuala_Lumpur"


class AwayOut(Schema):
    text: str
    enabled: bool
    hours_start: time | None
    hours_end: time | None
    time_zone: str
    away_now: bool


def _away(away) -> dict:
    if away is None:
        return {
            "text": "",
            "enabled": False,
            "hours_start": None,
            "hours_end": None,
            "time_zone": "Asia/Kuala_Lumpur",
            "away_now": False,
        }
    return {
        "text": away.text,
        "enabled": away.enabled,
        "hours_start": away.hours_start,
        "hours_end": away.hours_end,
        "time_zone": away.time_zone,
        "away_now": bool(away.text) and services.away_period_now(away) is not None,
    }


@router.get("/me/away-message", response=responses({200: AwayOut}))
def away_get(request: HttpRequest):
    """A verified business's away message (empty and off for everyone else)."""
    return _away(selectors.away_for(owner=request.user))


@router.put("/me/away-message", response=responses({200: AwayOut, 400: ModerationErrorOut}))
def away_put(request: HttpRequest, payload: AwayIn):
    """Set the away message: while on, a customer who writes gets it once per conversation and away period, as a
    message whose ``client_id`` starts with ``away:`` (shown as automatic). 403 ``not_verified``."""
    away = services.away_set(
        owner=request.user,
        text=payload.text,
        enabled=payload.enabled,
        hours_start=payload.hours_start,
        hours_end=payload.hours_end,
        time_zone=payload.time_zone,
    )
    return _away(away)


class TeamMemberOut(Schema):
    business: ParticipantOut
    member: ParticipantOut
    state: Literal["invited", "active"]


class TeamMemberList(Schema):
    items: list[TeamMemberOut]


class TeamInviteIn(Schema):
    handle: Annotated[str, Limits(max_length=64, pattern=r"^@?[A-Za-z0-9._]{1,64}$")]


def _team(request: HttpRequest, row) -> dict:
    return {
        "business": _abs(request, person_data(row.business)),
        "member": _abs(request, person_data(row.member)),
        "state": row.state,
    }


@router.get("/me/team", response=responses({200: TeamMemberList}))
def team_list(request: HttpRequest):
    """Your business's team members (invited and active)."""
    return {"items": [_team(request, r) for r in selectors.team_members(business=request.user)]}


@router.post("/me/team", response=responses({201: TeamMemberOut}))
def team_invite(request: HttpRequest, payload: TeamInviteIn):
    """Invite an account by handle to answer your business inbox (403 ``not_verified``; 409 ``exists``)."""
    row = services.team_invite(business=request.user, handle=payload.handle)
    row = type(row).objects.select_related("business", "member").get(pk=row.pk)
    return Status(201, _team(request, row))


@router.delete("/me/team/{handle}", response=responses({204: None}))
def team_remove(request: HttpRequest, handle: str):
    """Remove a member: their access to your inbox ends at once."""
    member = User.objects.filter(handle=handle.lstrip("@").lower()).first()
    if member is None:
        raise Http404
    services.team_remove(business=request.user, member=member)
    return Status(204, None)


@router.get("/me/teams", response=responses({200: TeamMemberList}))
def teams_mine(request: HttpRequest):
    """The business teams you are in or invited to."""
    return {"items": [_team(request, r) for r in selectors.teams_of(member=request.user)]}


@router.post("/teams/{handle}/accept", response=responses({200: TeamMemberOut}))
def team_accept(request: HttpRequest, handle: str):
    business = User.objects.filter(handle=handle.lstrip("@").lower(), is_active=True).first()
    if business is None:
        raise Http404
    row = services.team_accept(member=request.user, business=business)
    row = type(row).objects.select_related("business", "member").get(pk=row.pk)
    return _team(request, row)


@router.delete("/teams/{handle}", response=responses({204: None}))
def team_leave(request: HttpRequest, handle: str):
    """Leave a business's team (or decline its invitation)."""
    business = User.objects.filter(handle=handle.lstrip("@").lower()).first()
    if business is None:
        raise Http404
    services.team_remove(business=business, member=request.user)
    return Status(204, None)


class TeamMessageOut(MessageOut):
    answered_by: ParticipantOut | None = Field(
        description="The team member who wrote a message sent as the business (the team sees it, customers "
        "never); null otherwise."
    )
    automatic: bool


class TeamMessagePage(Schema):
    items: list[TeamMessageOut]
    next_cursor: str | None


class TeamConversationOut(ConversationItemOut):
    assigned_to: ParticipantOut | None


class TeamConversationPage(Schema):
    items: list[TeamConversationOut]
    next_cursor: str | None


class AssignIn(Schema):
    assignee: Annotated[str, Limits(max_length=64, pattern=r"^@?[A-Za-z0-9._]{1,64}$")] | None = Field(
        description="A handle of the business or one of its active members; null unassigns."
    )


def _team_message(request: HttpRequest, message) -> dict:
    data = _message(request, message)
    data["answered_by"] = _abs(request, person_data(message.sent_by)) if message.sent_by_id else None
    data["automatic"] = message.automatic
    return data


def _team_participant(request: HttpRequest, handle: str, conversation_id: int):
    return selectors.team_participant_get(member=request.user, handle=handle, conversation_id=conversation_id)


@router.get("/teams/{handle}/conversations", response=responses({200: TeamConversationPage}), by_alias=True)
def team_conversations(
    request: HttpRequest,
    handle: str,
    box: Literal["inbox", "requests"] = "inbox",
    assigned: Literal["", "me"] = "",
    cursor: PageCursor = None,
    limit: PageLimit = None,
):
    """The business inbox for the business and its team (404 for anyone else); ``assigned=me`` keeps the
    conversations assigned to you, in either box (``box`` is then ignored)."""
    business = selectors.team_business_get(member=request.user, handle=handle)
    page = selectors.conversations_for_user(
        user=business,
        box=box,
        cursor=cursor,
        limit=limit,
        assigned_to=request.user if assigned == "me" else None,
        direct_only=True,
        team_member=request.user,
    )
    items = []
    for row in page["items"]:
        item = _item(request, row)
        who = row.conversation.assigned_to
        item["assigned_to"] = _abs(request, person_data(who)) if who else None
        items.append(item)
    return {"items": items, "next_cursor": page["next_cursor"]}


@router.get(
    "/teams/{handle}/conversations/{conversation_id}/messages", response=responses({200: TeamMessagePage})
)
def team_messages(
    request: HttpRequest,
    handle: str,
    conversation_id: PathId,
    after: Seq | None = None,
    before: Seq | None = None,
    cursor: PageCursor = None,
    limit: PageLimit = None,
):
    """A business conversation's messages for its team, with who answered (rate-limited like the history)."""
    _business, participant = _team_participant(request, handle, conversation_id)
    services.resume_rate_check(user=request.user)
    page = selectors.messages_for_participant(
        participant=participant, after=after, before=before, cursor=cursor, limit=limit
    )
    return {"items": [_team_message(request, m) for m in page["items"]], "next_cursor": page["next_cursor"]}


@router.post(
    "/teams/{handle}/conversations/{conversation_id}/messages",
    response=responses({201: TeamMessageOut, 200: TeamMessageOut, 400: ModerationErrorOut}),
)
def team_send(request: HttpRequest, handle: str, conversation_id: PathId, payload: SendIn):
    """Answer as the business; the customer sees the business, the team sees who wrote it."""
    business, participant = _team_participant(request, handle, conversation_id)
    message, created = services.message_send(
        sender=business,
        conversation=participant.conversation,
        text=payload.text,
        client_id=payload.client_id,
        card=payload.card.dict() if payload.card else None,
        sent_by=request.user if request.user.pk != business.pk else None,
    )
    return Status(201 if created else 200, _team_message(request, message))


@router.post("/teams/{handle}/conversations/{conversation_id}/assign", response=responses({204: None}))
def team_assign(request: HttpRequest, handle: str, conversation_id: PathId, payload: AssignIn):
    """Assign the conversation to a team member (or the business), or unassign it with null."""
    business, participant = _team_participant(request, handle, conversation_id)
    assignee = None
    if payload.assignee:
        assignee = User.objects.filter(handle=payload.assignee.lstrip("@").lower(), is_active=True).first()
        if assignee is None:
            raise Http404
    services.conversation_assign(business=business, conversation=participant.conversation, assignee=assignee)
    return Status(204, None)


class ResponseTimeOut(Schema):
    days: int
    conversations: int
    answered: int
    median_seconds: float | None
    within_hour: float | None = Field(description="Share (0–1) of conversations answered within an hour.")


class ResponseTimesOut(Schema):
    periods: list[ResponseTimeOut]


@router.get("/me/response-times", response=responses({200: ResponseTimesOut}))
def response_times(request: HttpRequest):
    """How fast your business answers over the last 7 and 30 days (403 ``not_verified`` otherwise)."""
    if not request.user.is_verified_enterprise:
        from django.utils.translation import gettext as _

        from meadow.core.errors import PermissionDenied

        raise PermissionDenied(_("Response times are for verified businesses."), code="not_verified")
    return {
        "periods": [
            selectors.response_times(business=request.user, days=d) for d in selectors.RESPONSE_PERIODS
        ]
    }


# --- "Ask", reports and the moderators' view -----------------------------------------------------------------------
class AskIn(Schema):
    type: Literal["note", "product"]
    id: JSONId


class AskOut(Schema):
    conversation: ConversationOut
    message: MessageOut


@router.post("/messages/ask", response=responses({201: AskOut}), by_alias=True)
def ask(request: HttpRequest, payload: AskIn):
    """The "Ask" button: open (or reuse) the conversation with a product's seller or a verified business's note
    author; the item's card is sent as context (once per item)."""
    conversation, message = services.conversation_ask(user=request.user, kind=payload.type, ident=payload.id)
    other = selectors.conversation_other(conversation=conversation, user=request.user)
    return Status(
        201,
        {"conversation": _conversation(request, conversation, other), "message": _message(request, message)},
    )


class ConversationReportIn(Schema):
    reason: Literal["redirect", "spam", "false", "adult", "abuse", "fake", "other"]
    text: Annotated[Text, Limits(max_length=500)] = ""


class ConversationReportOut(Schema):
    id: int
    state: str


@router.post("/conversations/{conversation_id}/report", response=responses({201: ConversationReportOut}))
def conversation_report(request: HttpRequest, conversation_id: PathId, payload: ConversationReportIn):
    """Report a conversation you are in: moderators may then read its last 50 messages (each reading audited)."""
    conversation = selectors.conversation_get_for_participant(
        user=request.user, conversation_id=conversation_id
    )
    item = services.conversation_report(
        user=request.user, conversation=conversation, reason=payload.reason, text=payload.text
    )
    return Status(201, {"id": item.pk, "state": item.state})


class ModeratedMessageOut(Schema):
    seq: int
    sender: str
    answered_by: str | None
    text: str
    card: dict | None
    automatic: bool
    withdrawn: bool
    created_at: datetime


class ModeratedConversationOut(Schema):
    id: int
    participants: list[str]
    messages: list[ModeratedMessageOut]


@router.get(
    "/moderation/conversations/{conversation_id}", response=responses({200: ModeratedConversationOut})
)
def moderator_conversation(request: HttpRequest, conversation_id: PathId):
    """Moderators only, and only for a reported conversation (404 otherwise): its last 50 messages. Every call
    writes an audit-log entry."""
    conversation, items = services.conversation_moderator_open(
        moderator=request.user, conversation_id=conversation_id
    )
    return {
        "id": conversation.pk,
        "participants": selectors.participant_handles(conversation=conversation),
        "messages": [
            {
                "seq": m.seq,
                "sender": m.sender.handle,
                "answered_by": m.sent_by.handle if m.sent_by_id else None,
                "text": m.text,
                "card": m.card,
                "automatic": m.automatic,
                "withdrawn": m.withdrawn_at is not None,
                "created_at": m.created_at,
            }
            for m in items
        ],
    }
