"""The Responses wire format of computer use: computer_call items in, computer_call and
computer_call_output items out (no server)."""

from __future__ import annotations

from lllm_adapters.openai.responses import input_items, reply_from_response
from lllm_domain.computer import ComputerCall, SafetyCheck
from lllm_domain.message import Image, Message, Modality, Role

ITEM = {
    "type": "computer_call",
    "id": "cu_1",
    "call_id": "call_1",
    "action": {"type": "click", "x": 3, "y": 4, "button": "left"},
    "pending_safety_checks": [{"id": "sc", "code": "sensitive_domain", "message": "Bank."}],
    "status": "completed",
}


def test_a_computer_call_item_becomes_a_computer_call_not_a_hosted_one() -> None:
    reply = reply_from_response({"status": "completed", "output": [ITEM]}, "test")
    assert reply.hosted_calls == ()
    [call] = reply.computer_calls
    assert call == ComputerCall(
        "call_1", ITEM["action"], "cu_1", (SafetyCheck("sc", "sensitive_domain", "Bank."),)
    )


def test_a_malformed_item_still_becomes_a_call_whose_action_fails_when_run() -> None:
    reply = reply_from_response(
        {"status": "completed", "output": [{"type": "computer_call", "call_id": "c"}]}, "test"
    )
    [call] = reply.computer_calls
    assert call.action == {"type": None}


REASONING = {"type": "reasoning", "id": "rs_1", "summary": []}


def test_a_computer_turn_and_its_screenshot_are_sent_back_as_they_came() -> None:
    response = {"status": "completed", "output": [REASONING, ITEM]}
    reply = reply_from_response(response, "t")
    [call] = reply.computer_calls
    extra = {"reasoning_items": reply.reasoning_items}
    turn = Message(Role.TOOL_CALL, "", "assistant", computer_calls=(call,), extra=extra)
    assert input_items(turn) == [REASONING, ITEM]
    checks = [{"id": "sc", "code": "sensitive_domain", "message": "Bank."}]
    shot = Message(
        Role.TOOL,
        "Screenshot after click",
        "function",
        Modality.IMAGE,
        tool_call_id="call_1",
        image=Image("iVBOR", "image/png"),
        extra={"computer_call_output": True, "acknowledged_safety_checks": checks},
    )
    assert input_items(shot) == [
        {
            "type": "computer_call_output",
            "call_id": "call_1",
            "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,iVBOR"},
            "acknowledged_safety_checks": checks,
        }
    ]
