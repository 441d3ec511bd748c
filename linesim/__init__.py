"""linesim: a local LINE platform for Madoguchi's development, tests and demo.

It knows nothing of Madoguchi and talks to it only over HTTP, as LINE does (docs/linesim.md).
"""
