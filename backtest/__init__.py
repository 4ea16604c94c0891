"""Walk-forward backtest of the margin on real closes: coverage, procyclicality, reports.

Layer: above ``engine`` (it margins with the engine's own row builder and margin), below
the CLI. See docs/backtest.md.
"""
