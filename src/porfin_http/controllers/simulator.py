"""The simulator channel's webhook: a WhatsApp stand-in for trying Porfin and for tests."""

from __future__ import annotations

from litestar import post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from porfin_core.domain.channel import Provider
from porfin_core.domain.customer import Identity
from porfin_core.errors import InvalidPhoneNumber, ValidationError
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.record_delivery_status import DeliveryReport
from porfin_http.auth import WEBHOOK
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import ReceivedOut, SimulatorEvent, StatusRecordedOut


@post(
    "/webhooks/simulator/{channel_id:str}",
    summary="Simulator webhook",
    description="Deliver a patient message (`message`) or a delivery status (`status`) "
    "through a simulator channel. Idempotent on the message id.",
    status_code=200,
    security=WEBHOOK,
    tags=["webhooks"],
    responses=problems(400, 401, 404, 422),
)
async def simulator_webhook(
    container: NamedDependency[Services],
    channel_id: FromPath[str],
    data: JSONBody[SimulatorEvent],
) -> ReceivedOut | StatusRecordedOut:
    """Receive one simulated event."""
    if (data.message is None) == (data.status is None):
        raise ValidationError("send exactly one of 'message' or 'status'", field="body")
    if data.message is not None:
        message = data.message
        try:
            sender = Identity.of_phone(message.from_)
        except InvalidPhoneNumber as exc:
            raise InvalidPhoneNumber(exc.message, field="message.from") from exc
        received = await container.receive_inbound_message()(
            ReceiveMessage(
                channel_id=channel_id,
                provider=Provider.SIMULATOR,
                provider_message_id=message.id,
                sender=[sender],
                sender_name=message.name,
                body=message.text,
                sent_at=message.timestamp,
                from_clinic_phone=message.from_me,
            )
        )
        return ReceivedOut(
            received.message_id, received.chat_id, received.customer_id, received.duplicate
        )
    assert data.status is not None
    status = data.status
    outcome = await container.record_delivery_status()(
        DeliveryReport(
            channel_id=channel_id,
            provider_message_id=status.id,
            status=status.status,
            at=status.timestamp or container.clock().now(),
            error_code=status.error_code,
            error_detail=status.error_detail,
            provider=Provider.SIMULATOR,
        )
    )
    return StatusRecordedOut(outcome.applied, outcome.pending, outcome.message_id)
