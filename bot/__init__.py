"""docker-chatops: the Docker CLI in Slack, through one permissioned router."""

__version__ = "0.1.0"
