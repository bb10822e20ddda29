//! One writer thread that commits many callers' writes in one transaction (group commit).
//!
//! SQLite allows one writer at a time and each commit costs a sync of the WAL. Under load
//! the writer drains whatever jobs are queued, runs each inside its own savepoint (so one
//! job's failure rolls back only that job), commits once, and only then answers each
//! caller: an `Ok` always means "on disk".

use std::sync::{mpsc, Arc};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// Most jobs committed together; bounds the latency one commit adds to its first job.
const MAX_BATCH: usize = 256;
/// Jobs waiting beyond this are refused with `Busy` instead of queueing without end.
pub(crate) const QUEUE_CAPACITY: usize = 8192;

/// How a batch's commit went: one error, shared by every job of the batch.
type Commit = std::result::Result<(), Arc<rusqlite::Error>>;

trait Job: Send {
    /// Runs the job; `false` when it failed and its savepoint must be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the batch's commit is known.
    fn answer(self: Box<Self>, commit: Commit);
}

struct TypedJob<T, F> {
    work: Option<F>,
    outcome: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = work(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, commit: Commit) {
        let this = *self;
        let result = match (commit, this.outcome) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(v))) => Ok(v),
            (Err(e), _) => Err(StoreError::Sqlite(e)),
            (Ok(()), None) => Err(StoreError::Database("write job did not run".into())),
        };
        // The caller may have gone away (request cancelled); the write stands regardless.
        let _ = this.reply.send(result);
    }
}

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::SyncSender<Box<dyn Job>>,
}

impl Writer {
    pub(crate) fn start(conn: Connection) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Box<dyn Job>>(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(error = %e, "cannot start the SQLite writer"));
        Self { tx }
    }

    /// Runs `work` in the next batch and waits for its commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = Box::new(TypedJob {
            work: Some(work),
            outcome: None,
            reply,
        });
        self.tx.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => StoreError::Busy("write queue full".into()),
            mpsc::TrySendError::Disconnected(_) => {
                StoreError::Database("the SQLite writer has stopped".into())
            }
        })?;
        rx.await
            .map_err(|_| StoreError::Database("the SQLite writer dropped a job".into()))?
    }
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = run_batch(&mut conn, &mut batch);
        if let Err(e) = &commit {
            tracing::error!(error = %e, jobs = batch.len(), "SQLite batch commit failed");
        }
        for job in batch {
            job.answer(commit.clone());
        }
    }
}

fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Commit {
    let tx = conn.transaction()?;
    for job in batch.iter_mut() {
        tx.execute_batch("SAVEPOINT job")?;
        if job.run(&tx) {
            tx.execute_batch("RELEASE job")?;
        } else {
            tx.execute_batch("ROLLBACK TO job; RELEASE job")?;
        }
    }
    Ok(tx.commit()?)
}
