"""Calibration from price history: volatility forecasts and their paths, the correlation
matrix, and the anti-procyclicality tools.

Import the module that holds what you need (``engine.calibration.calibrate``,
``.volatility``, ``.volatility_paths``, ``.correlation``, ``.procyclicality``): this
package's face imports nothing, so reading a file (``engine.formats``) does not load
scipy, which only the fits need.
"""
