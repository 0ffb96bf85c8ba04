"""The JSON API v1 (flask-smorest)."""
