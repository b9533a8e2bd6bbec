"""Open311 GeoReport v2: the public, standard door for city apps and partner platforms (``/open311/v2/``)."""
