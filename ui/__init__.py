"""Records Desk's Qt user interface; it reaches data only through app.services."""
