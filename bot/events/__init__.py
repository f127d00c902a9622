"""One event router, three transports: the Action, the webhook App and `maintbot replay`.

``router`` holds ``Router``, ``Event`` and ``dispatch``; ``context`` the ``HandlerContext``
handlers get; ``local`` runs one event from a file. This package file re-exports nothing.
"""
