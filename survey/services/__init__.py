"""Services: plain functions that take the session and never commit."""
