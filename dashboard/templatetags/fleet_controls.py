"""`{% can_control %}`: whether the control buttons should show for the current user."""

from typing import Any

from django import template
from django.conf import settings

from fleet import roles

register = template.Library()


@register.simple_tag(takes_context=True)
def can_control(context: dict[str, Any]) -> str:
    """Returns "read_only" under FLEET_READ_ONLY, "yes" for operators and admins, else "no"."""
    if settings.FLEET_READ_ONLY:
        return "read_only"
    request = context.get("request")
    return "yes" if request is not None and roles.is_operator(request.user) else "no"
