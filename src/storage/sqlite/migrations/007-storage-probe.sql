
CREATE TABLE storage_probe (
  id INTEGER PRIMARY KEY,
  pad BLOB NOT NULL,
  written_at INTEGER NOT NULL
);
