"""The circom sources of zkmargin, shipped as package data (see ``engine.paths``)."""
