-- One live try per session at a time, across replicas. The connection that drives a
-- session's try holds its lease until `live_lease_until` (renewed while it runs); each new
-- holder gets the next `live_fence`, and the session's live state and verdict are written
-- only by the holder of the current one, so a connection that lost its lease cannot
-- overwrite the try of the one that took over.
ALTER TABLE sessions ADD COLUMN live_lease_until BIGINT;
ALTER TABLE sessions ADD COLUMN live_fence BIGINT NOT NULL DEFAULT 0;
