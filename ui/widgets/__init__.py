"""Reusable widgets for the Records Desk windows."""
