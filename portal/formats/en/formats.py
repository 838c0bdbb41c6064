"""English as written in Hong Kong: day before month (14/11/2026, 14 Nov 2026) and the 24-hour
clock, as on the district's letters and clinic cards. Django's "en" defaults are American
(11/14/2026, 2 p.m.), which a resident here reads wrongly for any day up to the 12th."""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i"
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "d/m/Y"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday, like the booking calendar
# Typed dates are read day first; the ISO form (what date pickers send) always works.
# Four-digit years only: "02/07/60" would be read as 2060, a wrong birth date.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d %b %Y", "%d %B %Y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
