//! Frame fingerprints for cross-session replay detection, on PostgreSQL.
//!
//! Every list is bound as one array (`UNNEST`, `= ANY`), so a call is one statement whatever
//! the number of prints: an insert is one round trip and commits on its own; a lookup is at
//! most two (rows with an equal `exact`, then band matches if `limit` is not reached).

use sqlx::postgres::{PgPool, PgRow};
use sqlx::Row;

use crate::model::{FramePrint, PrintMatch};
use crate::{PrintQuery, Result, StoreError, PRINT_PURGE_BATCH};

const COLS: &str = "session_id, try_no, frame_no, phash, exact";

pub(super) async fn insert(
    pool: &PgPool,
    session_id: &str,
    try_no: u32,
    created_at: i64,
    prints: &[FramePrint],
) -> Result<()> {
    let frame_no: Vec<i64> = prints.iter().map(|p| i64::from(p.frame_no)).collect();
    let phash: Vec<i64> = prints.iter().map(|p| p.phash as i64).collect();
    let exact: Vec<i64> = prints.iter().map(|p| p.exact as i64).collect();
    let mut bands: [Vec<i32>; 4] = Default::default();
    for p in prints {
        for (column, band) in bands.iter_mut().zip(p.bands()) {
            column.push(i32::from(band));
        }
    }
    let [b0, b1, b2, b3] = bands;
    sqlx::query(
        "INSERT INTO frame_prints (session_id, try_no, frame_no, phash, exact,
            band0, band1, band2, band3, created_at)
         SELECT $1, $2, u.*, $10
         FROM UNNEST($3::bigint[], $4::bigint[], $5::bigint[],
                     $6::int[], $7::int[], $8::int[], $9::int[]) AS u
         ON CONFLICT (session_id, try_no, frame_no) DO NOTHING",
    )
    .bind(session_id)
    .bind(i64::from(try_no))
    .bind(frame_no)
    .bind(phash)
    .bind(exact)
    .bind(b0)
    .bind(b1)
    .bind(b2)
    .bind(b3)
    .bind(created_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn find(
    pool: &PgPool,
    session_id: &str,
    since_ms: i64,
    q: &PrintQuery,
    limit: usize,
) -> Result<Vec<PrintMatch>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = sqlx::query(&format!(
        "SELECT {COLS} FROM frame_prints
         WHERE exact = ANY($1) AND session_id <> $2 AND created_at >= $3
         LIMIT $4"
    ))
    .bind(&q.exact)
    .bind(session_id)
    .bind(since_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(row)
    .collect::<Result<Vec<_>>>()?;
    let left = limit - out.len() as i64;
    if left > 0 {
        // Rows with an equal `exact` were all found above (fewer than `limit` came back).
        let bands = q
            .bands
            .each_ref()
            .map(|b| b.iter().map(|&v| v as i32).collect::<Vec<i32>>());
        let more = sqlx::query(&format!(
            "SELECT {COLS} FROM frame_prints
             WHERE (band0 = ANY($1) OR band1 = ANY($2) OR band2 = ANY($3) OR band3 = ANY($4))
                AND exact <> ALL($5) AND session_id <> $6 AND created_at >= $7
             LIMIT $8"
        ))
        .bind(&bands[0])
        .bind(&bands[1])
        .bind(&bands[2])
        .bind(&bands[3])
        .bind(&q.exact)
        .bind(session_id)
        .bind(since_ms)
        .bind(left)
        .fetch_all(pool)
        .await?;
        for r in &more {
            out.push(row(r)?);
        }
    }
    Ok(out)
}

/// Deletes rows recorded before `before_ms` a batch at a time (short transactions, short
/// row locks); returns how many went.
pub(super) async fn purge(pool: &PgPool, before_ms: i64) -> Result<u64> {
    let mut total = 0;
    loop {
        let n = sqlx::query(
            "DELETE FROM frame_prints WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM frame_prints WHERE created_at < $1 LIMIT $2))",
        )
        .bind(before_ms)
        .bind(PRINT_PURGE_BATCH)
        .execute(pool)
        .await?
        .rows_affected();
        total += n;
        // Fewer than a batch: done (or another replica purges alongside; the rest goes next pass).
        if n < PRINT_PURGE_BATCH as u64 {
            return Ok(total);
        }
    }
}

fn row(r: &PgRow) -> Result<PrintMatch> {
    let number = |col: &str| -> Result<u32> {
        let n: i64 = r.try_get(col)?;
        u32::try_from(n)
            .map_err(|_| StoreError::Corrupt(format!("frame print {col} {n} out of range")))
    };
    Ok(PrintMatch {
        session_id: r.try_get("session_id")?,
        try_no: number("try_no")?,
        frame_no: number("frame_no")?,
        phash: r.try_get::<i64, _>("phash")? as u64,
        exact: r.try_get::<i64, _>("exact")? as u64,
    })
}
