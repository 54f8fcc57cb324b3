"""What was made, for whom, at what price: every picture becomes a record in a real database.

SQLite in the data directory by default (WAL mode, nothing to install);
``DATABASE_URL`` names another (``postgresql://…``). The schema is versioned
with Alembic and brought up to date at start. Records are written by a
journal in the background, so a slow or failing database never holds a
picture back: a failed write is logged and retried.
"""

from gateway.records.database import Database, open_database
from gateway.records.journal import Journal, Record

__all__ = ["Database", "Journal", "Record", "open_database"]
