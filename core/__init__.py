"""Core: settings, database, audit trail, outbox, Celery app, field encryption, error types."""
