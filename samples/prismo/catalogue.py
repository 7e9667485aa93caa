"""The shop's customers, products and orders for a scenario, the same for the same seed."""

from __future__ import annotations

from collections.abc import Sequence

from samples.prismo.chance import rng_for
from samples.prismo.entities import Customer, Order, OrderLine, Product
from samples.prismo.scenario import Scenario

_GOODS = (
    "prism", "lens", "mirror", "filter", "tripod", "lamp",
    "slide", "screen", "beam splitter", "grating", "fibre", "polariser",
)  # fmt: skip
_STREETS = ("Rainbow Row", "Spectrum Street", "Refraction Road", "Photon Place")
_PAYMENT_METHODS = ("card", "paypal", "bank transfer")


def customers(scenario: Scenario) -> list[Customer]:
    return [
        Customer(id=f"customer-{n:03d}", name=f"Customer {n}", email=f"customer{n}@example.com")
        for n in range(1, scenario.customers + 1)
    ]


def products(scenario: Scenario) -> list[Product]:
    catalogue = []
    for n in range(1, scenario.products + 1):
        id = f"product-{n:02d}"
        good = _GOODS[(n - 1) % len(_GOODS)]
        price = rng_for(scenario.seed, "price", id).randrange(500, 20_000, 5)
        catalogue.append(Product(id=id, name=f"{good} #{n}", price_cents=price))
    return catalogue


def order_id(number: int) -> str:
    return f"order-{number:05d}"


def order(scenario: Scenario, number: int, catalogue: Sequence[Product]) -> Order:
    """Order ``number``: its customer, products and quantities depend on the seed alone."""
    id = order_id(number)
    rng = rng_for(scenario.seed, "order", id)
    chosen = rng.sample(list(catalogue), rng.randint(1, scenario.max_lines))
    lines = tuple(
        OrderLine(product_id=product.id, quantity=rng.randint(1, scenario.max_quantity))
        for product in chosen
    )
    prices = {product.id: product.price_cents for product in chosen}
    customer = rng.randint(1, scenario.customers)
    return Order(
        id=id,
        customer_id=f"customer-{customer:03d}",
        lines=lines,
        total_cents=sum(prices[line.product_id] * line.quantity for line in lines),
        payment_method=rng.choice(_PAYMENT_METHODS),
        shipping_address=f"{rng.randint(1, 200)} {rng.choice(_STREETS)}",
    )


def orders(scenario: Scenario, catalogue: Sequence[Product]) -> list[Order]:
    return [order(scenario, number, catalogue) for number in range(1, scenario.orders + 1)]
