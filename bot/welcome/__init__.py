"""One welcome for a person's first issue or pull request in a repository."""
