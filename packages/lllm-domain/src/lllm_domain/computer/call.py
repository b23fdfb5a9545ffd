"""A computer call the model made, with the safety checks it is pending on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from attrs import define, field

if TYPE_CHECKING:
    from lllm_domain.computer.actions import ComputerAction


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return dict(value)


@define(frozen=True, slots=True)
class SafetyCheck:
    """A provider's warning about a computer call (e.g. ``malicious_instructions``): the call
    runs only if the approval callback accepts it."""

    id: str
    code: str = ""
    message: str = ""


@define(frozen=True, slots=True)
class ComputerCall:
    """One action the model asked the computer to perform.

    ``call_id`` pairs it with its output (a screenshot); ``item_id`` is the provider's id of the
    call item, kept so a reloaded dialog can be sent again. ``action`` is the wire form
    (``{"type": "click", ...}``), logged as it came; :attr:`parsed_action` is the typed value.
    """

    call_id: str
    action: Mapping[str, Any] = field(converter=_frozen_mapping)
    item_id: str = ""
    pending_safety_checks: tuple[SafetyCheck, ...] = ()

    @property
    def parsed_action(self) -> ComputerAction:
        """The typed action (raises :class:`~lllm_domain.errors.ComputerError` when the model
        sent a malformed one)."""
        from lllm_domain.computer.actions import action_from_data

        return action_from_data(self.action, f"computer call {self.call_id!r}")
