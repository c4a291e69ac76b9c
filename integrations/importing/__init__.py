"""Imports: a file the user already has (Jira CSV, Jira JSON, GitHub Projects JSON, a Scrumboard
export) is parsed into records, previewed without writing, then applied by a Celery job."""
