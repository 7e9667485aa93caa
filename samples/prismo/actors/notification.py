"""Notification: email the customer when their order ships, once."""

from __future__ import annotations

from beehive import Event, actor
from beehive.stores import CollectionStore
from samples.prismo.entities import Customer, EmailSent, Order
from samples.prismo.events import OrderShipped, subscription
from samples.prismo.services import Emailer


@actor(subscription(OrderShipped, "Email"), parallelism=4)
class EmailActor:
    """Sends the shipping email unless the order's ``EmailSent`` record says it went already.

    An emailer cannot take back a message, so the record is checked before sending and
    written after. A second email can go only after a failure between the two (the email went,
    the record did not), or when two copies of one ``OrderShipped`` are handled at once (a
    redelivery while the first still runs); an idempotent, exclusive deployment of this actor
    (``BEEHIVE_ACTOR__EmailActor__EXCLUSIVE``) rules out the second case.
    """

    def __init__(
        self,
        orders: CollectionStore[Order],
        customers: CollectionStore[Customer],
        emails: CollectionStore[EmailSent],
        emailer: Emailer,
    ) -> None:
        self.orders = orders
        self.customers = customers
        self.emails = emails
        self.emailer = emailer

    async def process(self, event: Event) -> list[Event]:
        order_id = event.body_as(OrderShipped).order_id
        if await self.emails.exists(order_id):
            return []
        order = await self.orders.get(order_id)
        customer = await self.customers.get(order.customer_id)
        subject = f"Your Prismo order {order_id} is on its way"
        await self.emailer.send(customer.email, subject, order_id=order_id)
        await self.emails.upsert(EmailSent(id=order_id, to=customer.email, subject=subject))
        return []
