"""Pure renderers: models to Docker-CLI text."""
