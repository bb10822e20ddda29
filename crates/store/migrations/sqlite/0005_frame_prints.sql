-- Replay detection across sessions: a compact fingerprint of every frame and still of each
-- try (never the image), kept for the replay window and purged by `created_at`. `phash` and
-- `exact` hold a u64 as its i64 bit pattern; `band0`…`band3` are its four unsigned 16-bit
-- bands (bits 0–15 … 48–63), indexed so "shares a band" is four index lookups.
CREATE TABLE frame_prints (
    session_id TEXT NOT NULL,
    try_no INTEGER NOT NULL,
    frame_no INTEGER NOT NULL,
    phash INTEGER NOT NULL,
    exact INTEGER NOT NULL,
    band0 INTEGER NOT NULL,
    band1 INTEGER NOT NULL,
    band2 INTEGER NOT NULL,
    band3 INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, try_no, frame_no)
);
CREATE INDEX frame_prints_exact ON frame_prints(exact);
CREATE INDEX frame_prints_band0 ON frame_prints(band0);
CREATE INDEX frame_prints_band1 ON frame_prints(band1);
CREATE INDEX frame_prints_band2 ON frame_prints(band2);
CREATE INDEX frame_prints_band3 ON frame_prints(band3);
CREATE INDEX frame_prints_created ON frame_prints(created_at);
