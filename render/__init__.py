"""Presentation: SVG, HTML report, terminal and web steppers. Reads engine results; never parses YAML."""
