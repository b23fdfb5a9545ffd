"""Record once, replay forever: a caller wrapper that records every model request and reply, and
a caller that answers from such a recording — offline, deterministically, with no model.

Run your system once with :class:`RecordingCaller` around a real caller; each request and its
reply (or API error, and the streamed deltas) go to the ``calls`` collection of the log store.
Later, :meth:`ReplayCaller.from_store` rebuilds the run without any model: each request is matched
to a recorded one *structurally* — same agent, and the same conversation (role, content, tool
calls of every message) — never by dialog id, which is random per run. Where several recorded
calls fit (the same question asked twice), the dialog lineage decides: a live dialog keeps
following the recorded dialog it was first matched to, a fork follows its parent's recording, and
otherwise the recorded order wins. A request that matches nothing raises
:class:`ReplayDivergenceError`, naming the agent, turn and message where the run diverged, with
the expected and the actual text side by side.

A recording grows linearly with the turns, not with their square: each request records only
what it adds to an earlier recorded request (the dialog's previous one, its parent's for a fork,
or the agent's last one) — that call's id, how many messages it shares, then the new messages.
Loading rebuilds every request's whole conversation, and replay compares it exactly, message by
message. Recordings made before this format (whole conversations, no ids) load as they are.

The package is laid out by concept: :mod:`~lllm_domain.recording.fingerprint` (how requests are
compared), :mod:`~lllm_domain.recording.recorder` (:class:`RecordingCaller`),
:mod:`~lllm_domain.recording.recorded` (the recorded format read back) and
:mod:`~lllm_domain.recording.replayer` (:class:`ReplayCaller`); every public name is
importable from ``lllm_domain.recording``.
"""

from lllm_domain.errors import ReplayDivergenceError, ReplayError
from lllm_domain.recording.fingerprint import Fingerprint, fingerprint
from lllm_domain.recording.recorded import (
    CALLS,
    RecordedCall,
    RecordedConversation,
    recorded_calls,
)
from lllm_domain.recording.recorder import RecordingCaller
from lllm_domain.recording.replayer import ReplayCaller

__all__ = [
    "CALLS",
    "Fingerprint",
    "RecordedCall",
    "RecordedConversation",
    "RecordingCaller",
    "ReplayCaller",
    "ReplayDivergenceError",
    "ReplayError",
    "fingerprint",
    "recorded_calls",
]
