"""The policy: roles, bindings and scopes, and `decide(principal, command, targets) -> Decision`.

See `bot.policy.rules` for the rules and `bot.policy.scopes` for the patterns a binding scopes on.
"""

from bot.policy.rules import (
    APPROVE,
    Approval,
    Binding,
    BindingSpec,
    Decision,
    Policy,
    Principal,
    Role,
    RoleSpec,
)
from bot.policy.scopes import COMPOSE_PROJECT_LABEL, PROTECTED_LABEL, ContainerPattern

__all__ = [
    "APPROVE",
    "COMPOSE_PROJECT_LABEL",
    "PROTECTED_LABEL",
    "Approval",
    "Binding",
    "BindingSpec",
    "ContainerPattern",
    "Decision",
    "Policy",
    "Principal",
    "Role",
    "RoleSpec",
]
