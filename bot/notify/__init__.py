"""Docker event notifications: watchers per host, routing rules, and the outbox that posts to Slack."""
