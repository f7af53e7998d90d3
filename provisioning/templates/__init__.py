"""Seed file templates (`string.Template`), rendered from the course details by the seed step."""
