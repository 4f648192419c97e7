-- xctl schema, step 5 (SQLite): the gRPC address each cluster member
-- advertises (docs/cluster.md, "Forwarding"). Same table as PostgreSQL;
-- cluster mode needs PostgreSQL, SQLite has it so every tool sees one schema.
CREATE TABLE cluster_members (
  node TEXT PRIMARY KEY,
  grpc_address TEXT NOT NULL
);
