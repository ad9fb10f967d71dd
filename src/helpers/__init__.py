"""Helpers for the e-commerce customer behaviour notebook kit.

One small module per analysis; every function takes tidy pandas DataFrames
(or a :class:`helpers.data.Store`) and returns tidy DataFrames.
"""

__version__ = "0.1.0"
