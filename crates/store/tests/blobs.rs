//! The blob store on both backends: files under a directory, and a real S3-compatible server
//! (s3s-fs, started by `scripts/test.sh` through `scripts/s3.sh`; OPENLIVENESS_TEST_S3_*
//! name it). Each S3 case works under a prefix of its own.

// Tests may panic: a failed unwrap, expect or index is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use openliveness_store::{BlobError, BlobLocation, BlobStore, S3Location, Sealer};

/// A fresh prefix in the test bucket of the S3-compatible server the test run started.
fn s3(prefix: &str) -> BlobLocation {
    let var = |name: &str| {
        std::env::var(format!("OPENLIVENESS_TEST_S3_{name}")).unwrap_or_else(|_| {
            panic!(
                "OPENLIVENESS_TEST_S3_{name} is not set: these tests need an S3-compatible \
                 server; `eval \"$(bash scripts/s3.sh start DIR)\"` starts one \
                 (scripts/test.sh does)"
            )
        })
    };
    let mut loc = S3Location::parse(&format!(
        "s3://{}/{prefix}-{}",
        var("BUCKET"),
        std::process::id()
    ))
    .unwrap();
    loc.endpoint = Some(var("ENDPOINT"));
    loc.region = Some("us-east-1".into());
    loc.access_key_id = Some(var("ACCESS_KEY_ID"));
    loc.secret_access_key = Some(var("SECRET_ACCESS_KEY"));
    loc.allow_http = true;
    BlobLocation::S3(loc)
}

fn sealer(k: u8) -> Sealer {
    Sealer::new(&[k; 32])
}

/// Put, get, list and delete; a missing blob is `NotFound`, deleting it twice is fine; keys
/// that are not ours never reach the backend.
async fn round_trip(at: BlobLocation) {
    let s = BlobStore::open(&at, sealer(3)).unwrap();
    s.check().await.unwrap();
    assert!(s.keys().await.unwrap().is_empty(), "a fresh store is empty");
    let a = s.put(b"jpeg bytes".to_vec()).await.unwrap();
    let b = s.put(vec![7; 300_000]).await.unwrap();
    assert_eq!(s.get(&a).await.unwrap(), b"jpeg bytes");
    assert_eq!(s.get(&b).await.unwrap(), vec![7; 300_000]);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(s.keys().await.unwrap(), both);
    s.delete(&a).await.unwrap();
    s.delete(&a).await.unwrap();
    assert!(matches!(s.get(&a).await, Err(BlobError::NotFound(_))));
    assert_eq!(s.keys().await.unwrap(), vec![b.clone()]);
    for bad in ["../etc/passwd", "key-check", "", &"A".repeat(32)] {
        assert!(
            matches!(s.get(bad).await, Err(BlobError::BadKey)),
            "{bad:?}"
        );
        assert!(
            matches!(s.delete(bad).await, Err(BlobError::BadKey)),
            "{bad:?}"
        );
    }
    s.delete(&b).await.unwrap();
    assert!(s.keys().await.unwrap().is_empty());
}

/// What the backend holds is sealed with the master key: a store opened on the same place
/// with another key cannot read a blob, and is refused by `check` before it tries.
async fn sealed_with_the_master_key(at: BlobLocation) {
    let mine = BlobStore::open(&at, sealer(3)).unwrap();
    mine.check().await.unwrap();
    let key = mine.put(b"a face".to_vec()).await.unwrap();
    let other = BlobStore::open(&at, sealer(4)).unwrap();
    assert!(matches!(other.get(&key).await, Err(BlobError::Corrupt(_))));
    let refused = other.check().await.unwrap_err();
    assert!(matches!(refused, BlobError::WrongKey(_)), "{refused}");
    assert!(refused.to_string().contains("master key"), "{refused}");
    // The first key still opens it, however often it is checked.
    mine.check().await.unwrap();
    mine.check().await.unwrap();
    mine.delete(&key).await.unwrap();
}

mod files {
    use super::*;

    fn at(dir: &tempfile::TempDir) -> BlobLocation {
        BlobLocation::Files(dir.path().join("blobs"))
    }

    #[tokio::test]
    async fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        super::round_trip(at(&dir)).await;
    }

    #[tokio::test]
    async fn sealed_with_the_master_key() {
        let dir = tempfile::tempdir().unwrap();
        super::sealed_with_the_master_key(at(&dir)).await;
    }
}

mod s3 {
    use super::*;

    #[tokio::test]
    async fn round_trip() {
        super::round_trip(s3("round-trip")).await;
    }

    #[tokio::test]
    async fn sealed_with_the_master_key() {
        super::sealed_with_the_master_key(s3("sealed")).await;
    }

    /// An unreachable store is an error naming it, not a hang or a panic.
    #[tokio::test]
    async fn an_unreachable_store_is_a_clear_error() {
        let mut loc = S3Location::parse("s3://openliveness-test/nowhere").unwrap();
        loc.endpoint = Some("http://127.0.0.1:9".into());
        loc.access_key_id = Some("k".into());
        loc.secret_access_key = Some("s".into());
        loc.region = Some("us-east-1".into());
        loc.allow_http = true;
        let s = BlobStore::open(&BlobLocation::S3(loc), sealer(3)).unwrap();
        let e = tokio::time::timeout(std::time::Duration::from_secs(60), s.check())
            .await
            .expect("the check gives up by itself")
            .unwrap_err();
        assert!(matches!(e, BlobError::Object(_)), "{e}");
    }
}

#[test]
fn s3_urls_are_checked() {
    let ok = S3Location::parse("s3://my-bucket/a/b/").unwrap();
    assert_eq!(
        (ok.bucket.as_str(), ok.prefix.as_str()),
        ("my-bucket", "a/b")
    );
    assert_eq!(S3Location::parse("s3://my-bucket").unwrap().prefix, "");
    for bad in [
        "http://bucket/x",
        "s3://",
        "s3://UPPER/x",
        "s3://ab",
        "s3://bucket/a//b",
        "s3://bucket/../x",
    ] {
        assert!(S3Location::parse(bad).is_err(), "{bad}");
    }
    let mut loc = ok;
    loc.secret_access_key = Some("hunter2".into());
    assert!(!format!("{loc:?}").contains("hunter2"));
}
