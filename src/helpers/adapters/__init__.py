"""Adapters from published export formats to the canonical store, one module per format.

Each adapter builds only the tables its source can honestly fill, validates them, and records
in ``store.notes`` what it read, kept, derived and dropped (and why). The older adapters (GA4,
RetailRocket, Online Retail, REES46) still live in :mod:`helpers.data`; they move here as the
package is split.
"""
