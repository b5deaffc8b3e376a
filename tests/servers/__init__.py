"""Real local servers for the alert and journal tests (Slack-like HTTP, PostgreSQL, PostgREST)."""
