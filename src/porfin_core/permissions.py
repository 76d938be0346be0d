"""What each role may do: the spec's permission matrix (section 7.1.3) as one table.

=====================  ========  ===========  ==========
Feature                Admin     Manager      Secretary
=====================  ========  ===========  ==========
User management        full      view only    none
WhatsApp config        full      limited      none
Chat access            full      full         limited
Campaign management    full      create/edit  view only
Analytics              full      limited      basic
Assistant config       full      limited      none
=====================  ========  ===========  ==========

The spec's matrix has no row for the agenda (see docs/scheduling.md): every role sees it and
books (``schedule.view``, ``appointments.manage``: the front desk's daily work); setting it up
(professionals, hours, types and prices, closures: ``schedule.manage``) is for admins and
managers.

"Limited" is spelled out capability by capability below (and in docs/security.md); every
HTTP operation declares the one permission it needs, and a test checks every operation of the
OpenAPI document against this table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Role


class Permission(enum.StrEnum):
    """One capability an operation needs."""

    PROFILE = "profile"
    """Read and change one's own profile and password."""
    USERS_VIEW = "users.view"
    USERS_MANAGE = "users.manage"
    CLINIC_VIEW = "clinic.view"
    CLINIC_MANAGE = "clinic.manage"
    CHANNELS_VIEW = "channels.view"
    """See the clinic's WhatsApp numbers and their state (never secrets)."""
    CHANNELS_OPERATE = "channels.operate"
    """Rename, activate/deactivate, reconnect a number: the manager's "limited" config."""
    CHANNELS_MANAGE = "channels.manage"
    """Add and remove numbers, change provider settings and credentials."""
    CHATS_ALL = "chats.all"
    """Every chat of the clinic."""
    CHATS_OWN = "chats.own"
    """Chats assigned to the user, or unassigned: the secretary's "limited" access."""
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_EDIT = "customers.edit"
    CUSTOMERS_MERGE = "customers.merge"
    """Merge two records of one person, with their chats: it cannot be undone, and moves
    conversations whoever is in charge of them, so it is not front-desk work."""
    CAMPAIGNS_VIEW = "campaigns.view"
    CAMPAIGNS_EDIT = "campaigns.edit"
    CAMPAIGNS_MANAGE = "campaigns.manage"
    ANALYTICS_BASIC = "analytics.basic"
    ANALYTICS_TEAM = "analytics.team"
    ANALYTICS_FULL = "analytics.full"
    ASSISTANT_TUNE = "assistant.tune"
    """Tone, clinic facts and knowledge: the manager's "limited" assistant config."""
    ASSISTANT_MANAGE = "assistant.manage"
    """Models, budgets, tools and the assistants themselves."""
    SCHEDULE_VIEW = "schedule.view"
    """See the agenda: professionals and their hours, appointment types, closures, free slots,
    appointments and the waitlist."""
    APPOINTMENTS_MANAGE = "appointments.manage"
    """Book, reschedule, cancel, confirm, mark attended or no-show, put patients on the
    waitlist: front-desk work."""
    SCHEDULE_MANAGE = "schedule.manage"
    """Set up the agenda: professionals, working hours, appointment types and prices, clinic
    closures."""
    CHARGES_VIEW = "charges.view"
    """See the clinic's charges (cobranças) and their payments."""
    CHARGES_MANAGE = "charges.manage"
    """Issue charges, confirm payments received by PIX and cancel charges: front-desk work,
    recorded with who and when in the audit log and the transaction log."""
    AUDIT_READ = "audit.read"


_SECRETARY = frozenset(
    {
        Permission.PROFILE,
        Permission.CLINIC_VIEW,
        Permission.CHATS_OWN,
        Permission.CUSTOMERS_VIEW,
        Permission.CUSTOMERS_EDIT,
        Permission.CAMPAIGNS_VIEW,
        Permission.ANALYTICS_BASIC,
        Permission.SCHEDULE_VIEW,
        Permission.APPOINTMENTS_MANAGE,
        Permission.CHARGES_VIEW,
        Permission.CHARGES_MANAGE,
    }
)
_MANAGER = _SECRETARY | {
    Permission.USERS_VIEW,
    Permission.CHANNELS_VIEW,
    Permission.CHANNELS_OPERATE,
    Permission.CHATS_ALL,
    Permission.CUSTOMERS_MERGE,
    Permission.CAMPAIGNS_EDIT,
    Permission.ANALYTICS_TEAM,
    Permission.ASSISTANT_TUNE,
    Permission.SCHEDULE_MANAGE,
}
_ADMIN = frozenset(Permission)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: _ADMIN,
    Role.MANAGER: frozenset(_MANAGER),
    Role.SECRETARY: _SECRETARY,
}
"""Every permission of every role."""


def allows(role: Role, permission: Permission) -> bool:
    """True when ``role`` has ``permission``.

    A permission over chats is satisfied by either chat permission; which chats a user sees
    is then decided by :func:`may_see_chat`.
    """
    granted = ROLE_PERMISSIONS[role]
    if permission in (Permission.CHATS_ALL, Permission.CHATS_OWN):
        return Permission.CHATS_ALL in granted or Permission.CHATS_OWN in granted
    return permission in granted


def sees_all_chats(role: Role) -> bool:
    """True for roles with full chat access; the others see only their own and unassigned."""
    return Permission.CHATS_ALL in ROLE_PERMISSIONS[role]


def may_see_chat(role: Role, user_id: str, chat: Chat) -> bool:
    """True when a user of ``role`` may read and act on ``chat``.

    Secretaries see the chats assigned to them and the unassigned queue.
    """
    return may_see_chat_assigned_to(role, user_id, chat.assignee_id)


def may_see_chat_assigned_to(role: Role, user_id: str, assignee_id: str | None) -> bool:
    """:func:`may_see_chat` for a chat known only by its assignee (None: unassigned).

    For callers that hold a chat's assignee but not the chat, such as the realtime fan-out
    deciding, per connection, who receives an event.
    """
    if sees_all_chats(role):
        return True
    return Permission.CHATS_OWN in ROLE_PERMISSIONS[role] and assignee_id in (None, user_id)
