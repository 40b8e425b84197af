//! Sweep's walks on a catalog: a cursor per walk kept between runs, and the walk over
//! CLEAN records, bounded per page and resumed from an opaque position.

use std::collections::BTreeSet;

use airlock_domain::ports::{CatalogCleanWalk, CatalogWriter, SweepCursors};

use crate::{accepted, fresh_tenant, now, pending};

/// A cursor reads back as kept, is replaced, and once cleared reads as none.
pub async fn a_cursor_is_kept_replaced_and_cleared<C: SweepCursors>(catalog: &C) {
    assert_eq!(catalog.cursor("objects").await.expect("read"), None);

    catalog
        .set_cursor("objects", Some("uploads/a/1"))
        .await
        .expect("keep");
    catalog
        .set_cursor("uploads", Some("uploads/b/2"))
        .await
        .expect("keep another");
    catalog
        .set_cursor("objects", Some("uploads/a/2"))
        .await
        .expect("replace");

    assert_eq!(
        catalog.cursor("objects").await.expect("read").as_deref(),
        Some("uploads/a/2")
    );
    assert_eq!(
        catalog.cursor("uploads").await.expect("read").as_deref(),
        Some("uploads/b/2")
    );
    catalog.set_cursor("objects", None).await.expect("clear");
    assert_eq!(catalog.cursor("objects").await.expect("read"), None);
}

/// Pages hold CLEAN records only, never more than the page looked at, and walking
/// from each page's position to the end finds every CLEAN record once.
pub async fn the_clean_walk_pages_through_every_clean_record_once<C>(catalog: &C)
where
    C: CatalogCleanWalk + CatalogWriter,
{
    let tenant = fresh_tenant();
    let mut clean = BTreeSet::new();
    for minutes in 0..3 {
        let record = pending(&tenant, now() - chrono::Duration::minutes(10 - minutes));
        catalog
            .create(&accepted(&record))
            .await
            .expect("create clean");
        clean.insert(record.id);
    }
    catalog
        .create(&pending(&tenant, now()))
        .await
        .expect("create pending");

    let (mut seen, mut after, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = catalog.clean_page(after.as_deref(), 2).await.expect("page");
        assert!(
            page.records.len() <= 2,
            "a page held {}",
            page.records.len()
        );
        seen.extend(page.records.iter().map(|r| r.id));
        pages += 1;
        assert!(pages <= 3, "the walk does not end");
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }

    assert_eq!(
        seen.len(),
        clean.len(),
        "a record was seen twice or missed: {seen:?}"
    );
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), clean);
}

/// Expands the walk cases into tests for one catalog.
#[macro_export]
macro_rules! walk_tests {
    ($catalog:expr) => {
        $crate::cases!(walks, $catalog;
            a_cursor_is_kept_replaced_and_cleared,
            the_clean_walk_pages_through_every_clean_record_once,
        );
    };
}
