from __future__ import annotations

from dependency_injector import containers, providers


class PaymentGateway:
    """Authorises payments; counts what it did."""

    def __init__(self) -> None:
        self.authorised: list[str] = []

    async def authorise(self, order_id: str) -> str:
        self.authorised.append(order_id)
        return f"pay-{order_id}"


class Shipper:
    def __init__(self) -> None:
        self.shipped: list[str] = []


class Container(containers.DeclarativeContainer):
    payment_gateway = providers.Singleton(PaymentGateway)
    shipper = providers.Singleton(Shipper)
