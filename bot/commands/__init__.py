"""Slash commands in issue comments: parse (pure), who may run them, and the handler."""
