"""Event stores: the library's recorders, tuned for durability, one module per backend.

Each backend's `Factory` adds `position_of(originator_id, version)` to its
application recorder, so an idempotent repeat can answer with the log position
of the first handling.
"""
