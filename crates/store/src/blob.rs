//! The blob store: images, frames and video as files under one directory, each sealed with
//! the master key.
//!
//! What must stay true: a blob is either wholly there or absent (written to a temporary
//! file, synced, renamed, and the directory synced), and a key names at most one content
//! for its lifetime (keys are random, never reused).

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::seal::Sealer;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("invalid blob key")]
    BadKey,
    #[error("blob {0} failed authentication")]
    Corrupt(String),
    #[error("blob i/o: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    sealer: Sealer,
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>, sealer: Sealer) -> Result<Self, BlobError> {
        let root = root.into();
        crate::private::dir(&root)?;
        Ok(Self { root, sealer })
    }

    /// Stores `bytes` and returns the new blob's key.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<String, BlobError> {
        let this = self.clone();
        run_blocking(move || this.put_sync(&bytes)).await
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let this = self.clone();
        let key = key.to_owned();
        run_blocking(move || this.get_sync(&key)).await
    }

    /// Deletes a blob; deleting a missing blob is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn put_sync(&self, bytes: &[u8]) -> Result<String, BlobError> {
        let mut raw = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let key = hex::encode(raw);
        let path = self.path_of(&key)?;
        let dir = path.parent().unwrap_or(&self.root);
        if !dir.is_dir() {
            crate::private::dir(dir)?;
        }
        let sealed = self.sealer.seal(bytes, key.as_bytes());
        let tmp = dir.join(format!(".{key}.tmp"));
        // A temporary file left by a crash between create and rename is replaced.
        let _ = std::fs::remove_file(&tmp);
        {
            let mut f = crate::private::create_new(&tmp)?;
            f.write_all(&sealed)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(dir)?;
        Ok(key)
    }

    fn get_sync(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(key)?;
        let sealed = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::NotFound(key.to_owned()))
            }
            Err(e) => return Err(e.into()),
        };
        self.sealer
            .open(&sealed, key.as_bytes())
            .map_err(|_| BlobError::Corrupt(key.to_owned()))
    }

    /// Keys are 32 lowercase hex characters; anything else never reaches the file system.
    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        if key.len() != 32 || !key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(BlobError::BadKey);
        }
        Ok(self.root.join(&key[..2]).join(key))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e.to_string())))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> BlobStore {
        BlobStore::new(dir.join("blobs"), Sealer::new(&[3; 32])).unwrap()
    }

    #[tokio::test]
    async fn put_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let key = s.put(b"jpeg bytes".to_vec()).await.unwrap();
        assert_eq!(s.get(&key).await.unwrap(), b"jpeg bytes");
        // Encrypted at rest: the plaintext is not in the file.
        let on_disk = std::fs::read(s.path_of(&key).unwrap()).unwrap();
        assert!(!on_disk.windows(10).any(|w| w == b"jpeg bytes"));
        s.delete(&key).await.unwrap();
        s.delete(&key).await.unwrap();
        assert!(matches!(s.get(&key).await, Err(BlobError::NotFound(_))));
    }

    #[tokio::test]
    async fn rejects_bad_keys_and_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert!(matches!(
            s.get("../etc/passwd").await,
            Err(BlobError::BadKey)
        ));
        let a = s.put(b"a".to_vec()).await.unwrap();
        let b = s.put(b"b".to_vec()).await.unwrap();
        // A blob moved under another key fails authentication.
        std::fs::copy(s.path_of(&a).unwrap(), s.path_of(&b).unwrap()).unwrap();
        assert!(matches!(s.get(&b).await, Err(BlobError::Corrupt(_))));
    }
}
