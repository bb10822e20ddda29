//! The blob store: images, frames and video, each sealed with the master key, kept either
//! as files under one directory (the default) or as objects in any S3-compatible store (the
//! scale-out path: every replica reads what any other wrote).
//!
//! What must stay true: a blob is either wholly there or absent (a file is written to a
//! temporary file, synced, renamed, and the directory synced; an object is one PUT), and a
//! key names at most one content for its lifetime (keys are random, never reused). The
//! sealing is ours on both backends, with the key as associated data: the object store sees
//! ciphertext only, and a blob moved under another key fails to open.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
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
    #[error("object store: {0}")]
    Object(#[from] object_store::Error),
    #[error("object store settings: {0}")]
    Settings(String),
    #[error(
        "the blob store holds blobs sealed with another master key ({0}): start every replica \
         with the master key the store was first used with"
    )]
    WrongKey(String),
}

/// Where blobs are kept, as configured (`blob_store` and the `s3_*` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobLocation {
    /// Files under this directory.
    Files(PathBuf),
    /// Objects in an S3-compatible store.
    S3(S3Location),
}

/// An S3-compatible bucket (and a prefix in it) and how to reach it. Credentials left
/// `None` come from the standard `AWS_*` environment variables, as the AWS tools read them.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix, without leading or trailing `/`; empty for the bucket's root.
    pub prefix: String,
    /// `http(s)://host:port` of a store other than AWS (MinIO, Ceph, Garage, s3s…).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (a store on the same host or private network).
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl S3Location {
    /// Parses `s3://bucket` or `s3://bucket/prefix/…`; the other fields are left unset.
    pub fn parse(url: &str) -> Result<Self, BlobError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            BlobError::Settings(format!("{url:?} is not an s3://bucket/prefix URL"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(BlobError::Settings(format!(
                "{bucket:?} is not a bucket name (3 to 63 lowercase letters, digits, '-' or '.')"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
            && !prefix.is_empty()
        {
            return Err(BlobError::Settings(format!(
                "{prefix:?} is not a key prefix (no empty, '.' or '..' parts)"
            )));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
        })
    }
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    backend: Backend,
    sealer: Sealer,
}

#[derive(Debug, Clone)]
enum Backend {
    Files(PathBuf),
    Objects {
        store: Arc<dyn ObjectStore>,
        prefix: String,
        name: String,
    },
}

/// The object every blob store keeps to recognise its master key (see [`BlobStore::check`]).
const KEY_CHECK: &str = "key-check";

impl BlobStore {
    /// Blobs as files under `root` (created, private to the service's user).
    pub fn new(root: impl Into<PathBuf>, sealer: Sealer) -> Result<Self, BlobError> {
        let root = root.into();
        crate::private::dir(&root)?;
        Ok(Self {
            backend: Backend::Files(root),
            sealer,
        })
    }

    /// Blobs where `location` says. Nothing is contacted yet: [`BlobStore::check`] does.
    pub fn open(location: &BlobLocation, sealer: Sealer) -> Result<Self, BlobError> {
        match location {
            BlobLocation::Files(root) => Self::new(root.clone(), sealer),
            BlobLocation::S3(s3) => {
                // A store that does not answer fails a request within seconds, not the
                // client's default of minutes of retries: a verdict waits on it.
                let retry = object_store::RetryConfig {
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(15),
                    ..Default::default()
                };
                let client = object_store::ClientOptions::new()
                    .with_connect_timeout(std::time::Duration::from_secs(5))
                    .with_timeout(std::time::Duration::from_secs(30))
                    .with_allow_http(s3.allow_http);
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_allow_http(s3.allow_http)
                    .with_retry(retry)
                    .with_client_options(client);
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
                }
                if let Some(r) = &s3.region {
                    b = b.with_region(r);
                }
                if let Some(k) = &s3.access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(k) = &s3.secret_access_key {
                    b = b.with_secret_access_key(k);
                }
                let store = b.build()?;
                let name = match &s3.endpoint {
                    Some(e) => format!("s3://{}/{} at {e}", s3.bucket, s3.prefix),
                    None => format!("s3://{}/{}", s3.bucket, s3.prefix),
                };
                Ok(Self {
                    backend: Backend::Objects {
                        store: Arc::new(store),
                        prefix: s3.prefix.clone(),
                        name,
                    },
                    sealer,
                })
            }
        }
    }

    /// Where the blobs are, for logs and `/readyz`.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Files(root) => format!("files under {}", root.display()),
            Backend::Objects { name, .. } => name.clone(),
        }
    }

    /// Answers once the store is reachable and was sealed with this master key. The first
    /// check of a new store writes a small sealed marker; every later check opens it, so a
    /// replica started with another master key is refused at start-up instead of failing
    /// every image later.
    pub async fn check(&self) -> Result<(), BlobError> {
        let aad = format!("{KEY_CHECK}:openliveness");
        match self.read_raw(KEY_CHECK).await {
            Ok(sealed) => self
                .sealer
                .open(&sealed, aad.as_bytes())
                .map(|_| ())
                .map_err(|_| BlobError::WrongKey(self.describe())),
            Err(BlobError::NotFound(_)) => {
                let sealed = self.sealer.seal(b"openliveness blob store", aad.as_bytes());
                self.write_raw(KEY_CHECK, sealed).await
            }
            Err(e) => Err(e),
        }
    }

    /// Stores `bytes` and returns the new blob's key.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<String, BlobError> {
        let mut raw = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let key = hex::encode(raw);
        let sealed = self.sealer.seal(&bytes, key.as_bytes());
        self.write_raw(&key, sealed).await?;
        Ok(key)
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        check_key(key)?;
        let sealed = self.read_raw(key).await?;
        self.sealer
            .open(&sealed, key.as_bytes())
            .map_err(|_| BlobError::Corrupt(key.to_owned()))
    }

    /// Deletes a blob; deleting a missing blob is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_key(key)?;
        match &self.backend {
            Backend::Files(root) => match tokio::fs::remove_file(file_of(root, key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Backend::Objects { store, prefix, .. } => {
                match store.delete(&object_of(prefix, key)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Keys of every blob kept (not the key-check marker), for audits and tests.
    pub async fn keys(&self) -> Result<Vec<String>, BlobError> {
        use futures_util::TryStreamExt;
        let mut keys: Vec<String> = match &self.backend {
            Backend::Files(root) => {
                let root = root.clone();
                run_blocking(move || {
                    let mut keys = Vec::new();
                    for dir in std::fs::read_dir(&root)? {
                        let dir = dir?.path();
                        if !dir.is_dir() {
                            continue;
                        }
                        for f in std::fs::read_dir(&dir)? {
                            keys.push(f?.file_name().to_string_lossy().into_owned());
                        }
                    }
                    Ok(keys)
                })
                .await?
            }
            Backend::Objects { store, prefix, .. } => {
                let base =
                    (!prefix.is_empty()).then(|| object_store::path::Path::from(prefix.as_str()));
                let metas: Vec<_> = store.list(base.as_ref()).try_collect().await?;
                metas
                    .into_iter()
                    .filter_map(|m| m.location.filename().map(str::to_owned))
                    .collect()
            }
        };
        keys.retain(|k| check_key(k).is_ok());
        keys.sort();
        Ok(keys)
    }

    async fn write_raw(&self, key: &str, sealed: Vec<u8>) -> Result<(), BlobError> {
        match &self.backend {
            Backend::Files(root) => {
                let path = file_of(root, key);
                run_blocking(move || write_file(&path, &sealed)).await
            }
            Backend::Objects { store, prefix, .. } => {
                store
                    .put(&object_of(prefix, key), PutPayload::from(sealed))
                    .await?;
                Ok(())
            }
        }
    }

    async fn read_raw(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        match &self.backend {
            Backend::Files(root) => {
                let path = file_of(root, key);
                let name = key.to_owned();
                run_blocking(move || match std::fs::read(&path) {
                    Ok(b) => Ok(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        Err(BlobError::NotFound(name))
                    }
                    Err(e) => Err(e.into()),
                })
                .await
            }
            Backend::Objects { store, prefix, .. } => {
                match store.get(&object_of(prefix, key)).await {
                    Ok(got) => Ok(got.bytes().await?.to_vec()),
                    Err(object_store::Error::NotFound { .. }) => {
                        Err(BlobError::NotFound(key.to_owned()))
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}

/// Keys are 32 lowercase hex characters (or the key-check marker); anything else never
/// reaches the file system or the object store.
fn check_key(key: &str) -> Result<(), BlobError> {
    if key.len() != 32 || !key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(BlobError::BadKey);
    }
    Ok(())
}

/// `ab/abcd…`: 256 shards keep each directory (or listing) small. The key-check marker
/// sits at the top.
fn sharded(key: &str) -> String {
    match key.get(..2) {
        Some(shard) if key != KEY_CHECK => format!("{shard}/{key}"),
        _ => key.to_owned(),
    }
}

/// `root/ab/abcd…`.
fn file_of(root: &Path, key: &str) -> PathBuf {
    root.join(sharded(key))
}

/// `prefix/ab/abcd…` in the bucket.
fn object_of(prefix: &str, key: &str) -> object_store::path::Path {
    let name = sharded(key);
    if prefix.is_empty() {
        object_store::path::Path::from(name)
    } else {
        object_store::path::Path::from(format!("{prefix}/{name}"))
    }
}

/// Writes `bytes` at `path` whole or not at all: a temporary file, synced, renamed over the
/// final name, and the directory synced.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let Some(dir) = path.parent() else {
        return Err(BlobError::BadKey);
    };
    if !dir.is_dir() {
        crate::private::dir(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    // A temporary file left by a crash between create and rename is replaced.
    let _ = std::fs::remove_file(&tmp);
    {
        let mut f = crate::private::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)?;
    Ok(())
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
        let on_disk = std::fs::read(file_of(&dir.path().join("blobs"), &key)).unwrap();
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
        let root = dir.path().join("blobs");
        std::fs::copy(file_of(&root, &a), file_of(&root, &b)).unwrap();
        assert!(matches!(s.get(&b).await, Err(BlobError::Corrupt(_))));
    }
}
