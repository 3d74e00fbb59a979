"""Test doubles that speak real protocols over loopback (HTTP servers, not in-process patches)."""
