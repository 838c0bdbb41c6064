"""Public transport: GTFS import, realtime polling, departures and stops (not built yet)."""
