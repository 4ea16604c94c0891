"""Gate settings that light modules (the CLI's help) need without importing web3."""

from __future__ import annotations

#: The gate's default maximum age of a market root, in seconds.
DEFAULT_MAX_MARKET_AGE = 3600

#: Chains that live only inside the process that started them (embedded py-evm, an anvil
#: the command started): a gate deployed on one is gone when that process ends.
THROWAWAY_CHAINS = ("embedded", "anvil")
