"""The GitHub App: webhook receiver and worker (``maintbot serve``)."""
