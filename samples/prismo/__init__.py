"""Prismo: an e-commerce order's whole life as a web of small reactive actors.

An accepted order is paid for, checked for fraud and taken out of stock (waiting for the
supplier when a product runs out); when both checks are done it is shipped and the customer is
emailed. A failed payment or a fraud verdict cancels it, and the actors that did a step undo it.
Every actor keeps its state in the stores and is idempotent under redelivery.

Run it with ``python -m samples.prismo --orders 1000``; see :mod:`samples.prismo.run`.
"""
