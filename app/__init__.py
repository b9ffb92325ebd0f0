"""Records Desk: the data layer, services and command line (no Qt here)."""
