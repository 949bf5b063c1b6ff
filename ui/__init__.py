"""The web app (litestar): JSON API, pages and live streams."""
