"""Date and time formats the portal's languages use where Django's defaults do not fit the
district (FORMAT_MODULE_PATH points here)."""
