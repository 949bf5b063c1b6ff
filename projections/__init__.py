"""Read models built only by following the event log (thread views, stats, live feeds)."""
