"""A run's settings: how many orders, how the outside world behaves, and the seed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything that decides a run's business outcome.

    With the same scenario, the same orders are placed with the same items, and the same
    orders fail payment or the fraud check, whatever order the actors happen to run in.
    """

    orders: int = 100
    seed: int = 1
    payment_failure_rate: float = 0.10
    fraud_rate: float = 0.01
    supplier_delay: float = 0.01
    """Seconds the supplier takes to deliver a replenishment."""
    initial_stock: int | None = None
    """Units of each product in the warehouse at the start; by default about 80% of what the
    orders will ask for, so that some items wait for the supplier at any scale."""
    products: int = 12
    customers: int = 50
    max_lines: int = 3
    """Most distinct products in one order."""
    max_quantity: int = 3
    """Most units of one product in one order line."""

    def __post_init__(self) -> None:
        for name in ("payment_failure_rate", "fraud_rate"):
            rate = getattr(self, name)
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if self.orders < 0 or (self.initial_stock or 0) < 0 or self.supplier_delay < 0:
            raise ValueError("orders, initial_stock and supplier_delay cannot be negative")
        if min(self.products, self.customers, self.max_lines, self.max_quantity) < 1:
            raise ValueError("products, customers, max_lines and max_quantity must be at least 1")
        if self.max_lines > self.products:
            raise ValueError(
                f"max_lines ({self.max_lines}) cannot exceed products ({self.products})"
            )

    @property
    def stock_per_product(self) -> int:
        """The initial stock of each product."""
        if self.initial_stock is not None:
            return self.initial_stock
        expected_units = self.orders * (1 + self.max_lines) / 2 * (1 + self.max_quantity) / 2
        return max(10, round(0.8 * expected_units / self.products))
