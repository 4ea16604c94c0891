"""Gate settings that light modules (the CLI's help) need without importing web3."""

from __future__ import annotations

#: The gate's default maximum age of a market root, in seconds.
DEFAULT_MAX_MARKET_AGE = 3600

#: Accounts per ``commitAccounts`` transaction: about 2.7M gas for new accounts, well
#: inside a block, so any number of accounts is committed in several transactions.
COMMIT_BATCH = 100
