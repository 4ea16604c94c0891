"""zkmargin engine: the ZKPM-2 portfolio margin model in exact fixed point.

The engine is the reference implementation the circuit is tested against: every
integer it produces must be reproduced bit for bit by ``circuits/``.
"""
