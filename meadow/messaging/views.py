"""The Messages pages: the inbox and Requests tabs, a conversation (the latest messages, the send box, "Seen",
accept / delete / block for a request), and the profile's "Message" button. Live updates come from
``static/messaging/messages.js`` over ``/ws/messages/``; without JavaScript every action is a plain form post."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from meadow.accounts.models import User
from meadow.accounts.services import block_create
from meadow.core.errors import DomainError
from meadow.enforcement.models import ReviewItem
from meadow.messaging import selectors, services
from meadow.messaging.cards import card_for_reader
from meadow.messaging.models import Conversation


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    box = "requests" if request.GET.get("box") == "requests" else "inbox"
    q = request.GET.get("q", "")[:100].replace("\x00", "")
    try:
        page = selectors.conversations_for_user(
            user=request.user, box=box, cursor=request.GET.get("cursor"), q=q
        )
    except DomainError:
        page = selectors.conversations_for_user(user=request.user, box=box, q=q)
    return render(
        request,
        "messaging/inbox.html",
        {
            "box": box,
            "q": q,
            "rows": page["items"],
            "next_cursor": page["next_cursor"],
            "requests_count": selectors.requests_count(user=request.user),
            "quick_replies": selectors.quick_replies_for(owner=request.user),
            "teams": selectors.teams_of(member=request.user),
            "nav_section": "messages",
        },
    )


@login_required
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    participant = selectors.participant_get(user=request.user, conversation_id=conversation_id)
    is_group = participant.conversation.kind == Conversation.Kind.GROUP
    members = selectors.group_members(conversation=participant.conversation) if is_group else []
    other = (
        None
        if is_group
        else selectors.conversation_other(conversation=participant.conversation, user=request.user)
    )
    items = selectors.messages_latest(participant=participant, limit=50)
    unsend_after = timezone.now() - timedelta(seconds=settings.MEADOW_MESSAGE_UNSEND_SECONDS)
    for item in items:
        item.card_view = (
            card_for_reader(item.card, reader=request.user) if item.withdrawn_at is None else None
        )
        item.can_unsend = (
            item.sender_id == request.user.pk and item.withdrawn_at is None and item.created_at > unsend_after
        )
        item.image_list = [] if item.withdrawn_at else list(item.images.all())
    mine = [m for m in items if m.sender_id == request.user.pk and not m.withdrawn_at]
    seen_by = (
        selectors.seen_by(members=members, user=request.user, seq=mine[-1].seq) if is_group and mine else 0
    )
    last_seq = participant.conversation.last_seq
    if last_seq > participant.last_read_seq:
        services.conversation_read(user=request.user, conversation=participant.conversation, seq=last_seq)
    is_request_for_me = participant.state == "request"
    sent_request = (
        participant.conversation.state == Conversation.State.REQUEST
        and participant.conversation.created_by_id == request.user.pk
    )
    return render(
        request,
        "messaging/conversation.html",
        {
            "participant": participant,
            "conversation": participant.conversation,
            "other": other,
            "is_group": is_group,
            "members": members,
            "is_admin": participant.role == "admin",
            "seen_by": seen_by,
            "reads": {m.user.handle: m.shown_read_seq for m in members if m.shown_read_seq is not None},
            "images_max": settings.MEADOW_MESSAGE_IMAGES_MAX,
            "items": items,
            "seen_seq": selectors.other_read_seq(participant=participant),
            "is_request_for_me": is_request_for_me,
            "sent_request": sent_request,
            "client_id": uuid.uuid4().hex,
            "unsend_seconds": settings.MEADOW_MESSAGE_UNSEND_SECONDS,
            "report_reasons": [
                (value, label)
                for value, label in ReviewItem.Reason.choices
                if value != ReviewItem.Reason.POLICY
            ],
            "quick_replies": selectors.quick_replies_for(owner=request.user),
            "nav_section": "messages",
        },
    )


def _back(conversation_id: int) -> HttpResponse:
    return redirect(reverse("web:conversation", kwargs={"conversation_id": conversation_id}))


@login_required
@require_POST
def send(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The send box without JavaScript (the module posts to the API instead)."""
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    try:
        services.message_send(
            sender=request.user,
            conversation=found,
            text=request.POST.get("text", ""),
            client_id=request.POST.get("client_id", "")[:64],
            images=request.FILES.getlist("images"),
        )
    except DomainError as exc:
        flash.error(request, str(exc.message))
    return _back(conversation_id)


@login_required
@require_POST
def accept(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    services.conversation_accept(user=request.user, conversation=found)
    return _back(conversation_id)


@login_required
@require_POST
def delete(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    services.conversation_delete_for_me(user=request.user, conversation=found)
    flash.success(request, _("The conversation is deleted for you."))
    return redirect(reverse("web:messages"))


@login_required
@require_POST
def block(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Block the other person from a conversation (a request's "Block"): the conversation goes with it."""
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    if found.kind == Conversation.Kind.GROUP:
        raise Http404  # a group has no "other person" to block: members block from a profile
    other = selectors.conversation_other(conversation=found, user=request.user)
    block_create(blocker=request.user, blocked=other)
    services.conversation_delete_for_me(user=request.user, conversation=found)
    flash.success(request, _("@%(handle)s is blocked.") % {"handle": other.handle})
    return redirect(reverse("web:messages"))


@login_required
@require_POST
def mute(request: HttpRequest, conversation_id: int) -> HttpResponse:
    participant = selectors.participant_get(user=request.user, conversation_id=conversation_id)
    services.conversation_mute(
        user=request.user, conversation=participant.conversation, muted=not participant.muted
    )
    return _back(conversation_id)


@login_required
@require_POST
def open_with(request: HttpRequest, handle: str) -> HttpResponse:
    """The profile's "Message" button: open (or find) the conversation and go to it."""
    other = User.objects.filter(handle=handle.lstrip("@").lower(), is_active=True).first()
    if other is None:
        raise Http404
    try:
        found, _created = services.conversation_open(user=request.user, other=other)
    except DomainError as exc:
        flash.error(request, str(exc.message))
        return redirect(reverse("web:profile", kwargs={"handle": other.handle}))
    return _back(found.pk)


@login_required
@require_POST
def quick_reply_add(request: HttpRequest) -> HttpResponse:
    """The business inbox: save a quick reply."""
    try:
        services.quick_reply_create(
            owner=request.user, title=request.POST.get("title", ""), text=request.POST.get("text", "")
        )
    except DomainError as exc:
        flash.error(request, str(exc.message))
    return redirect(reverse("web:messages"))


@login_required
@require_POST
def quick_reply_remove(request: HttpRequest, reply_id: int) -> HttpResponse:
    try:
        services.quick_reply_delete(owner=request.user, reply_id=reply_id)
    except DomainError:
        raise Http404 from None
    return redirect(reverse("web:messages"))


# --- the business inbox: settings, team, assignment --------------------------------------------------------------
@login_required
def business_inbox(request: HttpRequest) -> HttpResponse:
    """The business inbox's settings (away message, team members) and the teams one is invited to or in."""
    user = request.user
    return render(
        request,
        "messaging/business.html",
        {
            "away": selectors.away_for(owner=user) if user.is_verified_enterprise else None,
            "team": selectors.team_members(business=user) if user.is_verified_enterprise else [],
            "teams": selectors.teams_of(member=user),
            "nav_section": "messages",
        },
    )


def _to_business() -> HttpResponse:
    return redirect(reverse("web:business_inbox"))


def _run(request: HttpRequest, action, success: str | None = None) -> None:
    try:
        action()
    except DomainError as exc:
        flash.error(request, str(exc.message))
    else:
        if success:
            flash.success(request, success)


@login_required
@require_POST
def away_save(request: HttpRequest) -> HttpResponse:
    hours = []
    for name in ("hours_start", "hours_end"):
        raw = request.POST.get(name, "").strip()
        try:
            hours.append(time.fromisoformat(raw) if raw else None)
        except ValueError:
            flash.error(request, _("Enter a time such as 09:00."))
            return _to_business()
    _run(
        request,
        lambda: services.away_set(
            owner=request.user,
            text=request.POST.get("text", ""),
            enabled=request.POST.get("enabled") == "on",
            hours_start=hours[0],
            hours_end=hours[1],
            time_zone=request.POST.get("time_zone", "")[:40],
        ),
        _("Away message saved."),
    )
    return _to_business()


@login_required
@require_POST
def team_invite(request: HttpRequest) -> HttpResponse:
    _run(
        request,
        lambda: services.team_invite(business=request.user, handle=request.POST.get("handle", "")[:64]),
        _("Invitation sent."),
    )
    return _to_business()


@login_required
@require_POST
def team_remove(request: HttpRequest, handle: str) -> HttpResponse:
    member = User.objects.filter(handle=handle.lower()).first()
    if member is None:
        raise Http404
    _run(request, lambda: services.team_remove(business=request.user, member=member))
    return _to_business()


@login_required
@require_POST
def team_respond(request: HttpRequest, handle: str) -> HttpResponse:
    """Accept an invitation (``accept``), or decline it / leave the team."""
    business = User.objects.filter(handle=handle.lower()).first()
    if business is None:
        raise Http404
    if request.POST.get("accept"):
        _run(request, lambda: services.team_accept(member=request.user, business=business))
        return redirect(reverse("web:team_inbox", kwargs={"handle": business.handle}))
    _run(request, lambda: services.team_remove(business=business, member=request.user))
    return _to_business()


@login_required
def team_inbox(request: HttpRequest, handle: str) -> HttpResponse:
    """The business inbox as its team sees it (404 for anyone else), with the "Assigned to me" filter."""
    business = selectors.team_business_get(member=request.user, handle=handle)
    box = "requests" if request.GET.get("box") == "requests" else "inbox"
    mine = request.GET.get("assigned") == "me"
    kwargs = {
        "user": business,
        "box": box,
        "assigned_to": request.user if mine else None,
        "direct_only": True,
        "team_member": request.user,
    }
    try:
        page = selectors.conversations_for_user(cursor=request.GET.get("cursor"), **kwargs)
    except DomainError:
        page = selectors.conversations_for_user(**kwargs)
    return render(
        request,
        "messaging/team_inbox.html",
        {
            "business": business,
            "box": box,
            "mine": mine,
            "rows": page["items"],
            "next_cursor": page["next_cursor"],
            "nav_section": "messages",
        },
    )


@login_required
def team_conversation(request: HttpRequest, handle: str, conversation_id: int) -> HttpResponse:
    business, participant = selectors.team_participant_get(
        member=request.user, handle=handle, conversation_id=conversation_id
    )
    other = selectors.conversation_other(conversation=participant.conversation, user=business)
    items = selectors.messages_latest(participant=participant, limit=50)
    for item in items:
        item.card_view = card_for_reader(item.card, reader=business) if item.withdrawn_at is None else None
    last_seq = participant.conversation.last_seq
    if last_seq > participant.last_read_seq:
        services.conversation_read(user=business, conversation=participant.conversation, seq=last_seq)
    return render(
        request,
        "messaging/team_conversation.html",
        {
            "business": business,
            "conversation": participant.conversation,
            "other": other,
            "items": items,
            "assignable": selectors.team_assignable(business=business),
            "client_id": uuid.uuid4().hex,
            "quick_replies": selectors.quick_replies_for(owner=business),
            "nav_section": "messages",
        },
    )


def _back_team(handle: str, conversation_id: int) -> HttpResponse:
    return redirect(
        reverse("web:team_conversation", kwargs={"handle": handle, "conversation_id": conversation_id})
    )


@login_required
@require_POST
def team_send(request: HttpRequest, handle: str, conversation_id: int) -> HttpResponse:
    business, participant = selectors.team_participant_get(
        member=request.user, handle=handle, conversation_id=conversation_id
    )
    _run(
        request,
        lambda: services.message_send(
            sender=business,
            conversation=participant.conversation,
            text=request.POST.get("text", ""),
            client_id=request.POST.get("client_id", "")[:64],
            sent_by=request.user if request.user.pk != business.pk else None,
        ),
    )
    return _back_team(business.handle, conversation_id)


@login_required
@require_POST
def team_assign(request: HttpRequest, handle: str, conversation_id: int) -> HttpResponse:
    business, participant = selectors.team_participant_get(
        member=request.user, handle=handle, conversation_id=conversation_id
    )
    wanted = request.POST.get("assignee", "").lower()
    assignee = User.objects.filter(handle=wanted, is_active=True).first() if wanted else None
    if wanted and assignee is None:
        raise Http404
    _run(
        request,
        lambda: services.conversation_assign(
            business=business, conversation=participant.conversation, assignee=assignee
        ),
    )
    return _back_team(business.handle, conversation_id)


# --- "Ask", reports, the moderators' view, response times ------------------------------------------------------
@login_required
@require_POST
def ask(request: HttpRequest) -> HttpResponse:
    """The "Ask" button of a product or a verified business's note."""
    kind = request.POST.get("type", "")
    raw = request.POST.get("id", "")
    if kind not in ("note", "product") or not raw.isdigit() or len(raw) > 18:
        raise Http404
    try:
        found, _message = services.conversation_ask(user=request.user, kind=kind, ident=int(raw))
    except DomainError as exc:
        flash.error(request, str(exc.message))
        return redirect(f"/{kind}s/{raw}/")
    return _back(found.pk)


def _handles(raw: str) -> list[User]:
    """People from a comma- or space-separated list of handles; an unknown one is a form error naming it."""
    wanted = list(dict.fromkeys(h.lstrip("@").lower() for h in raw.replace(",", " ").split() if h.strip("@")))
    found = {u.handle: u for u in User.objects.filter(handle__in=wanted[:100], is_active=True)}
    missing = [h for h in wanted if h not in found]
    if missing:
        raise DomainError(_("@%(handle)s does not exist.") % {"handle": missing[0][:64]}, field="with")
    return [found[h] for h in wanted if h in found]


@login_required
@require_POST
def group_new(request: HttpRequest) -> HttpResponse:
    """The inbox's "New group" form: a name and the handles of the people to add."""
    try:
        found = services.group_create(
            user=request.user,
            members=_handles(request.POST.get("with", "")[:2000]),
            name=request.POST.get("name", ""),
        )
    except DomainError as exc:
        flash.error(request, str(exc.message))
        return redirect(reverse("web:messages"))
    return _back(found.pk)


@login_required
@require_POST
def report(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    _run(
        request,
        lambda: services.conversation_report(
            user=request.user,
            conversation=found,
            reason=request.POST.get("reason", ""),
            text=request.POST.get("text", "")[:500],
        ),
        _("Thanks. Our moderators will look at this conversation."),
    )
    return _back(conversation_id)


@login_required
@require_POST
def group_add(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    try:
        services.group_members_add(
            user=request.user, conversation=found, members=_handles(request.POST.get("with", "")[:2000])
        )
    except DomainError as exc:
        flash.error(request, str(exc.message))
    return _back(conversation_id)


@login_required
@require_POST
def group_rename(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    _run(
        request,
        lambda: services.group_rename(
            user=request.user, conversation=found, name=request.POST.get("name", "")[:500]
        ),
    )
    return _back(conversation_id)


@login_required
def moderator_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The moderator console's view of a reported conversation: its last 50 messages (audited; 404 otherwise)."""
    found, items = services.conversation_moderator_open(
        moderator=request.user, conversation_id=conversation_id
    )
    response = render(
        request,
        "messaging/moderator_conversation.html",
        {
            "conversation": found,
            "items": items,
            "participants": selectors.participant_handles(conversation=found),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def response_times(request: HttpRequest) -> HttpResponse:
    """The creator centre's messages figures for a verified business."""
    if not request.user.is_verified_enterprise:
        raise Http404
    periods = [selectors.response_times(business=request.user, days=d) for d in selectors.RESPONSE_PERIODS]
    for period in periods:
        seconds = period["median_seconds"]
        period["median_minutes"] = None if seconds is None else round(seconds / 60)
        period["within_hour_percent"] = (
            None if period["within_hour"] is None else round(period["within_hour"] * 100)
        )
    return render(request, "messaging/response_times.html", {"periods": periods, "nav_section": "me"})


@login_required
@require_POST
def group_remove(request: HttpRequest, conversation_id: int, handle: str) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    member = User.objects.filter(handle=handle.lower()).first()
    if member is None:
        raise Http404
    try:
        services.group_member_remove(user=request.user, conversation=found, member=member)
    except DomainError as exc:
        flash.error(request, str(exc.message))
        return _back(conversation_id)
    if member.pk == request.user.pk:
        return redirect(reverse("web:messages"))
    return _back(conversation_id)


@login_required
@require_POST
def group_leave(request: HttpRequest, conversation_id: int) -> HttpResponse:
    found = selectors.conversation_get_for_participant(user=request.user, conversation_id=conversation_id)
    try:
        services.group_leave(user=request.user, conversation=found)
    except DomainError as exc:
        flash.error(request, str(exc.message))
        return _back(conversation_id)
    flash.success(request, _("You left the group."))
    return redirect(reverse("web:messages"))
