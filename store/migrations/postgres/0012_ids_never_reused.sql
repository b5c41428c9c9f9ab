-- Nothing to do on PostgreSQL: every id is an identity, whose sequence never gives a value twice
-- (sqlite/0012 makes SQLite's ids do the same). CopyInto sets each sequence past the copied ids.
SELECT 1;
