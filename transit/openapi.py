"""The OpenAPI 3.1 description of the public departures API (served at
/transit/api/v1/openapi.json)."""

_ROUTE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "GTFS route_id"},
        "short_name": {"type": "string"},
        "name": {"type": "string", "description": "short name, else long name, translated"},
        "long_name": {"type": "string", "description": "translated where the feed allows"},
        "color": {"type": ["string", "null"], "description": "six hex digits"},
        "text_color": {"type": ["string", "null"]},
        "type": {"type": "integer", "description": "GTFS route_type"},
    },
}

_DEPARTURE = {
    "type": "object",
    "required": ["route", "trip_id", "scheduled", "status"],
    "properties": {
        "route": _ROUTE,
        "headsign": {"type": "string"},
        "trip_id": {"type": "string"},
        "service_date": {"type": "string", "format": "date"},
        "stop_sequence": {"type": "integer"},
        "stop_id": {"type": "string", "description": "the platform or stop called at"},
        "platform": {"type": ["string", "null"]},
        "scheduled": {"type": "string", "format": "date-time"},
        "expected": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "the realtime prediction, when status is live",
        },
        "delay_seconds": {"type": ["integer", "null"]},
        "status": {
            "type": "string",
            "enum": ["live", "timetable", "cancelled", "skipped"],
            "description": "live: predicted from realtime; timetable: no fresh prediction; "
            "cancelled: the trip does not run; skipped: it does not stop here",
        },
        "realtime_age_seconds": {
            "type": ["integer", "null"],
            "description": "age of the realtime data behind a live, cancelled or skipped departure",
        },
        "approximate": {
            "type": "boolean",
            "description": "a frequency-based trip whose times are not exact (every N min)",
        },
        "headway_minutes": {"type": ["integer", "null"]},
        "wheelchair_accessible": {"type": ["boolean", "null"]},
    },
}

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
        }
    },
}


def document(base_url):
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "District Portal transit API",
            "version": "1",
            "description": "Next departures at a stop: the GTFS timetable corrected by "
            "GTFS-realtime when it is fresh. Texts follow Accept-Language (zh-Hant, zh-Hans, "
            "en). Responses carry an ETag and Cache-Control; send If-None-Match to get a 304 "
            "while nothing changed.",
        },
        "servers": [{"url": base_url.rstrip("/")}],
        "paths": {
            "/transit/api/v1/departures": {
                "get": {
                    "operationId": "departures",
                    "summary": "Next departures at a stop",
                    "parameters": [
                        {
                            "name": "feed",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "feed code",
                        },
                        {
                            "name": "stop",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "GTFS stop_id (a station includes its platforms)",
                        },
                        {
                            "name": "at",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "example": "2026-03-02T08:00"},
                            "description": "another time than now (local time, or with offset)",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 50,
                                "default": 10,
                            },
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "the departure board",
                            "headers": {
                                "ETag": {"schema": {"type": "string"}},
                                "Cache-Control": {"schema": {"type": "string"}},
                            },
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "generated_at": {
                                                "type": "string",
                                                "format": "date-time",
                                            },
                                            "stop": {"type": "object"},
                                            "realtime": {
                                                "type": "object",
                                                "properties": {
                                                    "configured": {"type": "boolean"},
                                                    "live": {"type": "boolean"},
                                                    "updated_at": {
                                                        "type": ["string", "null"],
                                                        "format": "date-time",
                                                    },
                                                    "age_seconds": {"type": ["integer", "null"]},
                                                    "stale_after_seconds": {"type": "integer"},
                                                },
                                            },
                                            "departures": {"type": "array", "items": _DEPARTURE},
                                            "routes": {
                                                "type": "array",
                                                "items": {"type": "object"},
                                            },
                                            "alerts": {
                                                "type": ["array", "null"],
                                                "description": "null when alerts are unavailable "
                                                "(stale or never received)",
                                                "items": {"type": "object"},
                                            },
                                        },
                                    }
                                }
                            },
                        },
                        "304": {"description": "not modified (If-None-Match)"},
                        "400": {
                            "description": "bad parameters",
                            "content": {"application/json": {"schema": _ERROR}},
                        },
                        "404": {
                            "description": "no such stop in a live feed",
                            "content": {"application/json": {"schema": _ERROR}},
                        },
                    },
                }
            }
        },
    }
