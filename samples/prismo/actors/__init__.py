"""Prismo's actors, one module per area; ``discover("samples.prismo.actors")`` finds them all.

=====================================================  ==========================================
source                                                 emits
=====================================================  ==========================================
OrderAccepted-Payment                                  PaymentAuthorised | PaymentFailed
OrderCancelled-Refund                                  (refunds the payment)
PaymentAuthorised-FraudCheck                           FraudCheckPassed | FraudCheckFailed
PaymentFailed-CancelOrder, FraudCheckFailed-CancelOrder  OrderCancelled
PaymentAuthorised-InventoryDecrement                   OrderItemsNotYetAccountedFor
OrderItemsNotYetAccountedFor-InventoryCheck            OrderItemsNotYetAccountedFor (the rest),
                                                       ItemOutOfStockForOrder,
                                                       OrderInventoryCheckCompleted
ItemBackInStockForOrder-ProcessOrder                   OrderInventoryCheckCompleted |
                                                       ProductOutOfStock
OrderCancelled-Restock                                 (gives stock back, unqueues)
ItemOutOfStockForOrder-ParkOrderItem                   ProductOutOfStock
ProductOutOfStock-ReplenishStock                       ProductArrivedBackInStock
ProductArrivedBackInStock-ActionParkedOrders           ItemBackInStockForOrder (per waiting order)
FraudCheckPassed-FulfilmentGate,
OrderInventoryCheckCompleted-FulfilmentGate            OrderReadyForFulfilment (once)
OrderReadyForFulfilment-Fulfilment                     OrderShipped
OrderShipped-Email                                     (emails the customer)
<every topic>-Trace                                    (logs the event)
=====================================================  ==========================================
"""

from beehive import ExternalEvents
from samples.prismo.events import OrderAccepted

external = ExternalEvents(
    inputs=[OrderAccepted], description="orders placed by the shop (scripts/prismo places them)"
)
