"""Liquidation cascades: a venue's accounts walked through a crash, step by step, with the
engine's margin deciding who is liquidated and the liquidations moving the price
(docs/cascades.md)."""
