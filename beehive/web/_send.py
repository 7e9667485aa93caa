"""``POST /api/send``: events from outside, into a running host's broker (token only)."""

from __future__ import annotations

from http import HTTPStatus

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from beehive.errors import BadEventBody, QueueNotFoundError
from beehive.host import ActorHost
from beehive.sending import Outgoing, event_models, problems
from beehive.web._requests import BadRequest, answer, check_token, logger, read_json


class Sending:
    """Pushes the events a request describes (an :class:`~beehive.sending.Outgoing` as JSON)
    into ``host``'s broker, when the request carries ``token`` as its bearer token.

    A body that fails the event's model is a 422 listing the problems; nothing is sent then.
    """

    def __init__(self, host: ActorHost, token: str | None) -> None:
        self._host = host
        self._token = token.encode() if token else None

    async def send(self, request: Request) -> Response:
        try:
            check_token(request, self._token, "send")
            try:
                outgoing = Outgoing.model_validate(await read_json(request))
            except ValidationError as error:
                raise BadRequest(HTTPStatus.UNPROCESSABLE_ENTITY, problems(error)) from None
            try:
                events = outgoing.events(event_models(self._host.descriptors))
            except BadEventBody as error:
                raise BadRequest(HTTPStatus.UNPROCESSABLE_ENTITY, str(error)) from None
        except BadRequest as refused:
            return refused.response()
        try:
            await self._host.operator.push_batch(events)
        except QueueNotFoundError as error:
            return answer({"error": str(error)}, HTTPStatus.NOT_FOUND)
        except Exception as error:  # the broker may be away: say so, stay up
            logger.warning("sending %s failed: %s", outgoing.event_type, error)
            return answer(
                {"error": f"the broker did not take the events: {type(error).__name__}"},
                HTTPStatus.SERVICE_UNAVAILABLE,
            )
        topic = outgoing.event_type
        readers = sorted({d.source for d in self._host.descriptors if d.queue.topic == topic})
        logger.info("sent %d %s event(s) from outside", len(events), outgoing.event_type)
        return answer(
            {"sent": len(events), "ids": [e.id for e in events], "readers": readers},
            HTTPStatus.ACCEPTED,
        )
