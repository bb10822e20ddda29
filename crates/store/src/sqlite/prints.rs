//! Frame fingerprints for cross-session replay detection, on SQLite.
//!
//! Lists reach SQL as one JSON array each (`json_each`), so a call with any number of prints
//! is one statement and never meets SQLite's limit on bound variables. `+created_at` keeps
//! the planner on the `exact` and band indexes: the window usually holds most rows, so the
//! `created_at` index would scan nearly the whole table.

use rusqlite::{params, Connection, Row};

use crate::model::{FramePrint, PrintMatch};
use crate::{PrintQuery, Result, PRINT_PURGE_BATCH};

const COLS: &str = "session_id, try_no, frame_no, phash, exact";

pub(super) fn insert(
    c: &Connection,
    session_id: &str,
    try_no: u32,
    created_at: i64,
    prints: &[FramePrint],
) -> Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO frame_prints (session_id, try_no, frame_no, phash, exact,
            band0, band1, band2, band3, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (session_id, try_no, frame_no) DO NOTHING",
    )?;
    for p in prints {
        let [b0, b1, b2, b3] = p.bands();
        stmt.execute(params![
            session_id,
            try_no,
            p.frame_no,
            p.phash as i64,
            p.exact as i64,
            b0,
            b1,
            b2,
            b3,
            created_at
        ])?;
    }
    Ok(())
}

pub(super) fn find(
    c: &Connection,
    session_id: &str,
    since_ms: i64,
    q: &PrintQuery,
    limit: usize,
) -> Result<Vec<PrintMatch>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let exact = json_list(&q.exact);
    let mut out = {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {COLS} FROM frame_prints
             WHERE exact IN (SELECT value FROM json_each(?1))
                AND session_id <> ?2 AND +created_at >= ?3
             LIMIT ?4"
        ))?;
        let rows = stmt.query_map(params![exact, session_id, since_ms, limit], row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let left = limit - out.len() as i64;
    if left > 0 {
        // Rows with an equal `exact` were all found above (fewer than `limit` came back).
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {COLS} FROM frame_prints
             WHERE (band0 IN (SELECT value FROM json_each(?1))
                    OR band1 IN (SELECT value FROM json_each(?2))
                    OR band2 IN (SELECT value FROM json_each(?3))
                    OR band3 IN (SELECT value FROM json_each(?4)))
                AND exact NOT IN (SELECT value FROM json_each(?5))
                AND session_id <> ?6 AND +created_at >= ?7
             LIMIT ?8"
        ))?;
        let [b0, b1, b2, b3] = q.bands.each_ref().map(|b| json_list(b));
        let rows = stmt.query_map(
            params![b0, b1, b2, b3, exact, session_id, since_ms, left],
            row,
        )?;
        out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    Ok(out)
}

/// Deletes one batch of rows recorded before `before_ms`; returns how many went.
pub(super) fn purge_step(c: &Connection, before_ms: i64) -> Result<u64> {
    let n = c.execute(
        "DELETE FROM frame_prints WHERE rowid IN (
            SELECT rowid FROM frame_prints WHERE created_at < ?1 LIMIT ?2)",
        params![before_ms, PRINT_PURGE_BATCH],
    )?;
    Ok(n as u64)
}

/// `[1,2,3]`: integers only, so no escaping is needed.
fn json_list(v: &[i64]) -> String {
    let mut s = String::with_capacity(v.len() * 8 + 2);
    s.push('[');
    for (i, n) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&n.to_string());
    }
    s.push(']');
    s
}

fn row(r: &Row<'_>) -> rusqlite::Result<PrintMatch> {
    Ok(PrintMatch {
        session_id: r.get(0)?,
        try_no: r.get(1)?,
        frame_no: r.get(2)?,
        phash: r.get::<_, i64>(3)? as u64,
        exact: r.get::<_, i64>(4)? as u64,
    })
}
