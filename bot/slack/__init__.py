"""The Slack door: the slash command, actions and App Home on slack-bolt; Socket Mode and HTTP runners."""
