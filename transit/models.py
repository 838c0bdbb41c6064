"""Transit data: GTFS feeds imported as versions, the realtime snapshot, residents' favourites.

Every GTFS table row belongs to one `FeedVersion`. Riders only ever read a feed's
`live_version`; an import builds a new version beside it and swaps the pointer in one
transaction (see importer.py). Rows reference each other by integer keys resolved at import
time; the GTFS ids are kept for display, realtime matching and stable URLs.

Times in `StopTime` and `Frequency` are seconds since "noon minus 12 h" of the service day in
the agency's time zone, as the GTFS reference defines them: 25:10:00 is 90600 whatever the
day. The instant of a time is that origin plus the seconds, so times past 24:00 and the
23- and 25-hour days of daylight saving come out right (see timetable.service_day_origin).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Feed(models.Model):
    """A GTFS source (one publisher's feed). Several feeds coexist; each has its live version."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    source_url = models.CharField(_("static GTFS source"), max_length=500, blank=True)
    trip_updates_url = models.CharField(_("trip updates URL"), max_length=500, blank=True)
    alerts_url = models.CharField(_("service alerts URL"), max_length=500, blank=True)
    live_version = models.ForeignKey(
        "FeedVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("live version"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("transit feed")
        verbose_name_plural = _("transit feeds")

    def __str__(self):
        return self.name or self.code


class FeedVersion(models.Model):
    class Status(models.TextChoices):
        BUILDING = "building", _("being imported")
        LIVE = "live", _("live")
        RETIRED = "retired", _("replaced")
        FAILED = "failed", _("failed")

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="versions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING)
    source = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Row counts loaded per file, bad rows per file, and a short list of the first problems.
    summary = models.JSONField(default=dict, blank=True)
    default_language = models.CharField(max_length=20, blank=True)
    has_frequencies = models.BooleanField(default=False)
    # The latest departure in the feed (seconds): yesterday's service day is only queried
    # while its trips can still be running (times past 24:00).
    max_departure = models.IntegerField(null=True, blank=True)
    feed_start_date = models.DateField(null=True, blank=True)
    feed_end_date = models.DateField(null=True, blank=True)
    publisher_version = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.feed.code} #{self.pk} ({self.status})"


class Agency(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    agency_id = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    timezone = models.CharField(max_length=60)
    lang = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=60, blank=True)

    class Meta:
        indexes = [models.Index(fields=["version", "agency_id"])]

    def __str__(self):
        return self.name


class Level(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    level_id = models.CharField(max_length=100)
    level_index = models.FloatField()
    name = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return self.name or self.level_id


class Stop(models.Model):
    class LocationType(models.IntegerChoices):
        STOP = 0, _("stop or platform")
        STATION = 1, _("station")
        ENTRANCE = 2, _("entrance or exit")
        NODE = 3, _("generic node")
        BOARDING_AREA = 4, _("boarding area")

    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    stop_id = models.CharField(max_length=200)
    code = models.CharField(max_length=50, blank=True)
    name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    lat = models.FloatField(null=True)
    lon = models.FloatField(null=True)
    zone_id = models.CharField(max_length=100, blank=True)
    location_type = models.SmallIntegerField(default=0)
    parent = models.ForeignKey(
        "self", on_delete=models.DO_NOTHING, null=True, db_constraint=False, related_name="+"
    )
    timezone = models.CharField(max_length=60, blank=True)
    wheelchair_boarding = models.SmallIntegerField(default=0)
    platform_code = models.CharField(max_length=50, blank=True)
    level = models.ForeignKey(
        Level, on_delete=models.DO_NOTHING, null=True, db_constraint=False, related_name="+"
    )
    # The name in every language the feed gives (translations.txt), lowercased, for search.
    search_text = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["version", "stop_id"]),
            models.Index(fields=["version", "lat"]),
        ]

    def __str__(self):
        return self.name or self.stop_id


class Route(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    route_id = models.CharField(max_length=200)
    agency = models.ForeignKey(Agency, on_delete=models.DO_NOTHING, db_constraint=False)
    short_name = models.CharField(max_length=100, blank=True)
    long_name = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    route_type = models.IntegerField(default=3)
    url = models.CharField(max_length=500, blank=True)
    color = models.CharField(max_length=6, blank=True)
    text_color = models.CharField(max_length=6, blank=True)
    sort_order = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["version", "route_id"])]

    def __str__(self):
        return self.short_name or self.long_name


class Service(models.Model):
    """A service_id with its weekly pattern (calendar.txt, absent for calendar_dates only)."""

    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    service_id = models.CharField(max_length=200)
    # Weekdays Monday..Sunday as a 7-bit mask, bit 0 = Monday; 0 when only calendar_dates.
    weekdays = models.SmallIntegerField(default=0)
    start_date = models.DateField(null=True)
    end_date = models.DateField(null=True)

    class Meta:
        indexes = [models.Index(fields=["version", "service_id"])]

    def __str__(self):
        return self.service_id


class ServiceException(models.Model):
    """calendar_dates.txt: a service added (1) or removed (2) on one date."""

    ADDED = 1
    REMOVED = 2
    service = models.ForeignKey(Service, on_delete=models.DO_NOTHING, db_constraint=False)
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    date = models.DateField()
    exception_type = models.SmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["version", "date"])]

    def __str__(self):
        return f"{self.service_id} {self.date} {self.exception_type}"


class Trip(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    trip_id = models.CharField(max_length=200)
    route = models.ForeignKey(Route, on_delete=models.DO_NOTHING, db_constraint=False)
    service = models.ForeignKey(Service, on_delete=models.DO_NOTHING, db_constraint=False)
    headsign = models.CharField(max_length=300, blank=True)
    short_name = models.CharField(max_length=100, blank=True)
    direction_id = models.SmallIntegerField(null=True)
    block_id = models.CharField(max_length=200, blank=True)
    shape_id = models.CharField(max_length=200, blank=True)
    wheelchair_accessible = models.SmallIntegerField(default=0)
    bikes_allowed = models.SmallIntegerField(default=0)
    # Seconds of the trip's first departure, set for frequency-based trips (their stop times
    # are offsets from it).
    first_departure = models.IntegerField(null=True)
    has_frequencies = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["version", "trip_id"])]

    def __str__(self):
        return self.trip_id


class StopTime(models.Model):
    """One row of stop_times.txt; the bulk of every feed, loaded with COPY.

    On PostgreSQL the table is partitioned by `version` (migration 0004): each import loads
    its stop times into a table of their own, without indexes, indexes it in one sorted
    build and attaches it; a version is deleted by dropping its table (see partitions.py).
    Queries give `version_id` so that only the version's partition is read.
    """

    # No single-column indexes or foreign-key checks: the two indexes below cover the
    # lookups, and every reference was resolved by the importer.
    version = models.ForeignKey(
        FeedVersion,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    trip = models.ForeignKey(Trip, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    stop = models.ForeignKey(Stop, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False)
    stop_sequence = models.IntegerField()
    arrival = models.IntegerField(null=True)
    departure = models.IntegerField(null=True)
    stop_headsign = models.CharField(max_length=300, null=True)
    pickup_type = models.SmallIntegerField(default=0)
    drop_off_type = models.SmallIntegerField(default=0)
    shape_dist_traveled = models.FloatField(null=True)
    timepoint = models.SmallIntegerField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["stop", "departure"], name="transit_st_stop_dep"),
            models.Index(fields=["trip", "stop_sequence"], name="transit_st_trip_seq"),
        ]

    def __str__(self):
        return f"{self.trip_id}#{self.stop_sequence}"


class Frequency(models.Model):
    trip = models.ForeignKey(Trip, on_delete=models.DO_NOTHING, db_constraint=False)
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    start_time = models.IntegerField()
    end_time = models.IntegerField()
    headway_secs = models.IntegerField()
    exact_times = models.SmallIntegerField(default=0)

    def __str__(self):
        return f"{self.trip_id} every {self.headway_secs} s"


class Translation(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    table_name = models.CharField(max_length=40)
    field_name = models.CharField(max_length=60)
    language = models.CharField(max_length=20)
    translation = models.TextField()
    record_id = models.CharField(max_length=200, blank=True)
    record_sub_id = models.CharField(max_length=200, blank=True)
    field_value = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["version", "table_name", "language"])]

    def __str__(self):
        return f"{self.table_name}.{self.field_name} [{self.language}]"


class Shape(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    shape_id = models.CharField(max_length=200)
    lat = models.FloatField()
    lon = models.FloatField()
    sequence = models.IntegerField()
    dist_traveled = models.FloatField(null=True)

    def __str__(self):
        return f"{self.shape_id}#{self.sequence}"


class Transfer(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    from_stop_id = models.CharField(max_length=200, blank=True)
    to_stop_id = models.CharField(max_length=200, blank=True)
    from_route_id = models.CharField(max_length=200, blank=True)
    to_route_id = models.CharField(max_length=200, blank=True)
    from_trip_id = models.CharField(max_length=200, blank=True)
    to_trip_id = models.CharField(max_length=200, blank=True)
    transfer_type = models.SmallIntegerField(default=0)
    min_transfer_time = models.IntegerField(null=True)

    def __str__(self):
        return f"{self.from_stop_id} -> {self.to_stop_id}"


class Pathway(models.Model):
    version = models.ForeignKey(FeedVersion, on_delete=models.CASCADE, db_constraint=False)
    pathway_id = models.CharField(max_length=200)
    from_stop_id = models.CharField(max_length=200)
    to_stop_id = models.CharField(max_length=200)
    pathway_mode = models.SmallIntegerField()
    is_bidirectional = models.SmallIntegerField()
    traversal_time = models.IntegerField(null=True)
    signposted_as = models.CharField(max_length=300, blank=True)

    def __str__(self):
        return self.pathway_id


# Realtime -------------------------------------------------------------------------------------
class RealtimeFeedState(models.Model):
    """The last poll of one realtime feed (trip updates or alerts) of a static feed."""

    class Kind(models.TextChoices):
        TRIP_UPDATES = "trip_updates", _("trip updates")
        ALERTS = "alerts", _("service alerts")

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="realtime_states")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The producer's header timestamp of the last good snapshot (what "updated N s ago" means).
    snapshot_time = models.DateTimeField(null=True)
    fetched_at = models.DateTimeField(null=True)  # last good fetch (or 304) by the poller
    last_attempt_at = models.DateTimeField(null=True)
    last_error = models.TextField(blank=True)
    last_modified = models.CharField(max_length=100, blank=True)  # for If-Modified-Since
    entity_count = models.IntegerField(default=0)
    unmatched_count = models.IntegerField(default=0)
    # A new random id each time a snapshot is stored: web processes keep what they read of a
    # snapshot in memory under this id (transit.realtime), so a new one is never missed.
    snapshot_id = models.CharField(max_length=32, blank=True)
    # The largest delay (s) in the snapshot: boards look back only that far for late vehicles
    # (None: not known, look back the full LOOKBACK).
    max_delay = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feed", "kind"], name="transit_rt_state_unique")
        ]

    def __str__(self):
        return f"{self.feed_id} {self.kind}"


class RealtimeTripUpdate(models.Model):
    """One trip's prediction in the last good snapshot, resolved against the live schedule.

    `updates` is a list of [stop_sequence, arrival_delay, departure_delay, arrival_time,
    departure_time, relationship] (times as Unix seconds, None where absent; relationship is
    "S" scheduled, "K" skipped or "N" no data), ordered by stop_sequence.
    """

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, db_constraint=False)
    trip_id = models.CharField(max_length=200)
    start_date = models.DateField()
    # For frequency-based trips: the trip's start (seconds of the service day); -1 otherwise.
    start_time = models.IntegerField(default=-1)
    cancelled = models.BooleanField(default=False)
    timestamp = models.DateTimeField(null=True)
    # The largest delay anywhere in the trip: a call scheduled before "now" is only looked at
    # when its trip is at least that late.
    max_delay = models.IntegerField(default=0)
    updates = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["feed", "trip_id", "start_date"], name="transit_rt_trip"),
        ]

    def __str__(self):
        return f"{self.trip_id} {self.start_date}"


class RealtimeAlert(models.Model):
    """One service alert of the last good snapshot; texts keyed by language."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, db_constraint=False)
    alert_id = models.CharField(max_length=200)
    # [[start, end], ...] as Unix seconds, None for open ends; empty = always active.
    active_periods = models.JSONField(default=list)
    # [{"agency_id", "route_id", "stop_id", "trip_id", "route_type"}, ...]
    informed_entities = models.JSONField(default=list)
    header = models.JSONField(default=dict)  # {language or "": text}
    description = models.JSONField(default=dict)
    url = models.JSONField(default=dict)
    cause = models.CharField(max_length=40, blank=True)
    effect = models.CharField(max_length=40, blank=True)
    severity = models.CharField(max_length=20, blank=True)

    class Meta:
        indexes = [models.Index(fields=["feed"])]

    def __str__(self):
        return self.alert_id


# Residents ------------------------------------------------------------------------------------
class FavouriteStop(models.Model):
    """A resident's favourite stop, by feed and GTFS stop_id, so it survives re-imports."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_stops"
    )
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="+")
    stop_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("favourite stop")
        verbose_name_plural = _("favourite stops")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "feed", "stop_id"], name="transit_favourite_unique"
            )
        ]

    def __str__(self):
        return f"{self.user_id}: {self.feed_id}/{self.stop_id}"


class AlertNotice(models.Model):
    """That a resident was told about an alert, so each alert is a notification once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="+")
    alert_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "feed", "alert_id"], name="transit_alert_notice_unique"
            )
        ]

    def __str__(self):
        return f"{self.user_id}: {self.feed_id}/{self.alert_id}"
