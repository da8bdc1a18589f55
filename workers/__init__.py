"""Celery apps and tasks: thin adapters that run the domain packages as distributed jobs."""
