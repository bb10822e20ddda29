//! Embedded migrations, one list per backend, applied in order at start-up.
//!
//! A migration is applied inside one transaction together with the row that records it, so a
//! crash mid-migration leaves the schema as it was. Released files are never edited: each
//! applied migration's SHA-256 is kept (`schema_checksums`), and a store whose database was
//! migrated with another text refuses to open ([`crate::StoreError::MigrationChanged`]).
//! Migrations applied before checksums were kept get theirs recorded on the next start.

use sha2::{Digest, Sha256};

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "live_state",
        sql: include_str!("../migrations/sqlite/0002_live_state.sql"),
    },
    Migration {
        version: 3,
        name: "secondary_link",
        sql: include_str!("../migrations/sqlite/0003_secondary_link.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/sqlite/0004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "frame_prints",
        sql: include_str!("../migrations/sqlite/0005_frame_prints.sql"),
    },
    Migration {
        version: 6,
        name: "try_failures",
        sql: include_str!("../migrations/sqlite/0006_try_failures.sql"),
    },
    Migration {
        version: 7,
        name: "live_lease",
        sql: include_str!("../migrations/sqlite/0007_live_lease.sql"),
    },
    Migration {
        version: 8,
        name: "unattended",
        sql: include_str!("../migrations/sqlite/0008_unattended.sql"),
    },
    Migration {
        version: 9,
        name: "neutral_records",
        sql: include_str!("../migrations/sqlite/0009_neutral_records.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "live_state",
        sql: include_str!("../migrations/postgres/0002_live_state.sql"),
    },
    Migration {
        version: 3,
        name: "secondary_link",
        sql: include_str!("../migrations/postgres/0003_secondary_link.sql"),
    },
    Migration {
        version: 4,
        name: "webhooks",
        sql: include_str!("../migrations/postgres/0004_webhooks.sql"),
    },
    Migration {
        version: 5,
        name: "frame_prints",
        sql: include_str!("../migrations/postgres/0005_frame_prints.sql"),
    },
    Migration {
        version: 6,
        name: "try_failures",
        sql: include_str!("../migrations/postgres/0006_try_failures.sql"),
    },
    Migration {
        version: 7,
        name: "live_lease",
        sql: include_str!("../migrations/postgres/0007_live_lease.sql"),
    },
    Migration {
        version: 8,
        name: "unattended",
        sql: include_str!("../migrations/postgres/0008_unattended.sql"),
    },
    Migration {
        version: 9,
        name: "neutral_records",
        sql: include_str!("../migrations/postgres/0009_neutral_records.sql"),
    },
];

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The SHA-256 of each applied migration's text, by version (a table of its own, so databases
/// migrated before it existed need no change to `schema_migrations`).
pub(crate) const CREATE_CHECKSUMS: &str = "CREATE TABLE IF NOT EXISTS schema_checksums (
    version BIGINT PRIMARY KEY,
    sha256 TEXT NOT NULL
)";

impl Migration {
    /// The hex SHA-256 of the migration's text.
    pub(crate) fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }

    /// Checks `applied`, the checksum recorded for this version if any, against this text:
    /// `Ok(Some(checksum))` when none was recorded yet (the caller records it), `Ok(None)` when
    /// it matches.
    pub(crate) fn check(&self, applied: Option<&str>) -> crate::Result<Option<String>> {
        let carried = self.checksum();
        match applied {
            None => Ok(Some(carried)),
            Some(applied) if applied == carried => Ok(None),
            Some(applied) => Err(crate::StoreError::MigrationChanged {
                version: self.version,
                name: self.name,
                applied: applied.to_owned(),
                carried,
            }),
        }
    }
}
