"""Proactive notifications: in the app, by email and by text, never at night."""
