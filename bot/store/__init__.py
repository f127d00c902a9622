"""maintbot's state in a real database: SQLite file by default, PostgreSQL by URL.

Open it with ``bot.store.database.Store.open()``; do each unit of work in
``with store.session() as session:`` and call the small functions of ``deliveries``, ``jobs``,
``predictions``, ``bench`` and ``cache`` on that session. This package file re-exports
nothing, so importing one table's helpers does not load the others.
"""
