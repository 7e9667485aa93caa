"""Fraud: assess each paid order once."""

from __future__ import annotations

from beehive import Event, actor, republish
from beehive.stores import CollectionStore, KeyAlreadyExistsError
from samples.prismo.entities import FraudAssessment
from samples.prismo.events import (
    FraudCheckFailed,
    FraudCheckPassed,
    PaymentAuthorised,
    once,
    subscription,
)
from samples.prismo.lookup import find
from samples.prismo.services import FraudChecker


def _verdict(assessment: FraudAssessment) -> Event:
    if assessment.suspicious:
        reason = assessment.reason or "suspicious"
        return once(FraudCheckFailed(order_id=assessment.id, reason=reason), assessment.id)
    return once(FraudCheckPassed(order_id=assessment.id), assessment.id)


@actor(
    subscription(PaymentAuthorised, "FraudCheck"),
    parallelism=8,
    emits=[FraudCheckPassed, FraudCheckFailed],
)
class FraudCheckActor:
    """Asks the fraud checker about a paid order and records its verdict."""

    def __init__(
        self, fraud_assessments: CollectionStore[FraudAssessment], fraud_checker: FraudChecker
    ) -> None:
        self.assessments = fraud_assessments
        self.checker = fraud_checker

    async def process(self, event: Event) -> list[Event]:
        order_id = event.body_as(PaymentAuthorised).order_id
        known = await find(self.assessments, order_id)
        if known is not None:
            return republish(event, [_verdict(known)])
        suspicious = await self.checker.is_suspicious(order_id)
        assessment = FraudAssessment(
            id=order_id,
            suspicious=suspicious,
            reason="the card was reported stolen" if suspicious else None,
        )
        try:
            await self.assessments.insert(assessment)
        except KeyAlreadyExistsError:
            return []
        return [_verdict(assessment)]
