//! What sweep's reconciliation asks of a store: the upload prefix listed in key order
//! a page at a time after a key, multipart uploads the same way, whether an object
//! is there, and every version under a key removed for good.

use airlock_domain::{
    ContentType, ObjectKey,
    ports::{ObjectMultipart, UploadInventory},
};

use crate::{
    now,
    objects::{ObjectFixture, fresh_key},
};

/// `n` fresh keys with bytes stored under them, in key order.
async fn stored<F: ObjectFixture>(fixture: &F, n: usize) -> Vec<ObjectKey> {
    let mut keys: Vec<ObjectKey> = (0..n).map(|_| fresh_key()).collect();
    keys.sort_by_key(ToString::to_string);
    for key in &keys {
        fixture.put(key, b"bytes".to_vec()).await;
    }
    keys
}

fn names<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|item| key(item).to_owned()).collect()
}

/// Objects come in key order, at most the page asked for, and the next page starts
/// after the key given; each names when it was stored.
pub async fn uploads_are_listed_in_key_order_a_page_at_a_time<S, F>((store, fixture): &(S, F))
where
    S: UploadInventory,
    F: ObjectFixture,
{
    let before = now() - chrono::Duration::minutes(1);
    let keys: Vec<String> = stored(fixture, 3)
        .await
        .iter()
        .map(ToString::to_string)
        .collect();

    let first = store.list_uploads(None, 2).await.expect("list");
    assert_eq!(names(&first.items, |o| &o.key), keys[..2]);
    assert!(first.more, "a full page said nothing follows");
    let rest = store
        .list_uploads(Some(&keys[1]), 2)
        .await
        .expect("list after a key");
    assert_eq!(names(&rest.items, |o| &o.key), keys[2..]);
    assert!(!rest.more, "the last page said more follows");
    let after = now() + chrono::Duration::minutes(1);
    for object in first.items.iter().chain(&rest.items) {
        assert!(
            (before..after).contains(&object.last_modified),
            "{} stored at {}",
            object.key,
            object.last_modified
        );
    }
}

/// Purging removes what is under the key, and only under it (every version of it:
/// the AWS suite's own case checks that on a versioned bucket).
pub async fn purging_a_key_leaves_nothing_under_it<S, F>((store, fixture): &(S, F))
where
    S: UploadInventory,
    F: ObjectFixture,
{
    let keys = stored(fixture, 2).await;
    assert!(store.object_exists(&keys[0], None).await.expect("exists"));

    store
        .purge_upload(&keys[0].to_string())
        .await
        .expect("purge");
    store
        .purge_upload(&keys[0].to_string())
        .await
        .expect("a purge of nothing succeeds");

    assert!(!store.object_exists(&keys[0], None).await.expect("exists"));
    let left = store.list_uploads(None, 10).await.expect("list");
    assert_eq!(names(&left.items, |o| &o.key), [keys[1].to_string()]);
    assert!(store.object_exists(&keys[1], None).await.expect("exists"));
}

/// A key outside the upload prefix is never purged.
pub async fn a_purge_outside_the_upload_prefix_is_refused<S, F>((store, _): &(S, F))
where
    S: UploadInventory,
{
    let outside = fresh_key().quarantined();
    assert!(store.purge_upload(&outside).await.is_err());
}

/// Multipart uploads in progress come in key order after a key; an aborted one is
/// no longer listed.
pub async fn multipart_uploads_are_listed_after_a_key<S, F>((store, _): &(S, F))
where
    S: UploadInventory + ObjectMultipart,
{
    let before = now() - chrono::Duration::minutes(1);
    let text = ContentType::parse("text/csv").expect("type");
    let mut keys: Vec<ObjectKey> = (0..2).map(|_| fresh_key()).collect();
    keys.sort_by_key(ToString::to_string);
    let mut ids = Vec::new();
    for key in &keys {
        ids.push(store.start_multipart(key, &text).await.expect("start"));
    }

    let first = store.list_multipart_uploads(None, 1).await.expect("list");
    assert_eq!(names(&first.items, |u| &u.key), [keys[0].to_string()]);
    assert_eq!(first.items[0].upload_id, ids[0]);
    assert!(first.items[0].initiated > before);
    assert!(first.more, "a full page said nothing follows");
    let rest = store
        .list_multipart_uploads(Some(&keys[0].to_string()), 10)
        .await
        .expect("list after a key");
    assert_eq!(names(&rest.items, |u| &u.upload_id), [ids[1].clone()]);
    assert!(!rest.more);

    store
        .abort_multipart(&keys[1], &ids[1])
        .await
        .expect("abort");
    let left = store.list_multipart_uploads(None, 10).await.expect("list");
    assert_eq!(names(&left.items, |u| &u.upload_id), [ids[0].clone()]);
}

/// Expands the inventory cases into tests for one store and fixture pair.
#[macro_export]
macro_rules! inventory_tests {
    ($store:expr) => {
        $crate::cases!(inventory, $store;
            uploads_are_listed_in_key_order_a_page_at_a_time,
            purging_a_key_leaves_nothing_under_it,
            a_purge_outside_the_upload_prefix_is_refused,
            multipart_uploads_are_listed_after_a_key,
        );
    };
}
