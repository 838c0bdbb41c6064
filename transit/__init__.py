"""Public transport: GTFS import, GTFS-realtime polling, departures, stops and favourites."""
