"""The computer port: what the agent call needs from a screen it can see and drive."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lllm_domain.computer.actions import ComputerAction, ScreenCapture, ScreenSize


@runtime_checkable
class Computer(Protocol):
    """A screen the model drives with blocking calls (a headless browser, a VM, a fake).

    ``perform`` runs one action (a :class:`~lllm_domain.computer.actions.Screenshot` action
    does nothing) and ``screenshot`` captures the screen as it is afterwards. Failures raise
    :class:`~lllm_domain.errors.ComputerError` naming the action and what to do.
    """

    @property
    def screen_size(self) -> ScreenSize:
        """The screen the model's coordinates refer to."""
        ...

    def perform(self, action: ComputerAction) -> None:
        """Run ``action``."""
        ...

    def screenshot(self) -> ScreenCapture:
        """The screen as it is now."""
        ...


@runtime_checkable
class AsyncComputer(Protocol):
    """The async form of :class:`Computer` (what ``Agent.acall`` uses when it has one)."""

    @property
    def screen_size(self) -> ScreenSize:
        """The screen the model's coordinates refer to."""
        ...

    async def aperform(self, action: ComputerAction) -> None:
        """Run ``action``."""
        ...

    async def ascreenshot(self) -> ScreenCapture:
        """The screen as it is now."""
        ...
