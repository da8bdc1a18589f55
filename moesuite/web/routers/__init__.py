"""Routers per area: score, jobs, review, code (JSON API v1), health, auth and console (HTML)."""
