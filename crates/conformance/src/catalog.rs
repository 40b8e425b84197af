//! The catalog: conditional writes, isolation, listing, and sweep's queries.

use airlock_domain::{
    ContentType, FileRecord, FileStatus, HashState, IngestCheckpoint, PassProgress, ScanReport,
    Timestamp, WindowProgress,
    ports::{
        CatalogError, CatalogReader, CatalogSweep, CatalogWriter, CheckpointWriter, ListQuery,
    },
};

use crate::{accepted, fresh_tenant, now, pending};

/// A created record reads back equal.
pub async fn a_created_record_reads_back_equal<C: CatalogReader + CatalogWriter>(catalog: &C) {
    let record = pending(&fresh_tenant(), now());
    catalog.create(&record).await.expect("create");
    let read = catalog.get(&record.tenant, record.id).await.expect("get");
    assert_eq!(read, Some(record));
}

/// Creating the same id twice is refused.
pub async fn creating_an_existing_id_is_already_exists<C: CatalogWriter>(catalog: &C) {
    let record = pending(&fresh_tenant(), now());
    catalog.create(&record).await.expect("create");
    let again = catalog.create(&record).await;
    assert!(
        matches!(again, Err(CatalogError::AlreadyExists)),
        "{again:?}"
    );
}

/// Another tenant cannot read a record by its id.
pub async fn a_record_is_invisible_to_other_tenants<C: CatalogReader + CatalogWriter>(catalog: &C) {
    let record = pending(&fresh_tenant(), now());
    catalog.create(&record).await.expect("create");
    assert_eq!(
        catalog.get(&fresh_tenant(), record.id).await.expect("get"),
        None
    );
}

/// Of two writers racing from the same status, exactly one wins.
pub async fn of_two_racing_writers_exactly_one_wins<C: CatalogReader + CatalogWriter>(catalog: &C) {
    let record = pending(&fresh_tenant(), now());
    catalog.create(&record).await.expect("create");
    let clean = accepted(&record);
    let expired = record.expired(now()).expect("expire");
    let (a, b) = tokio::join!(
        catalog.replace(FileStatus::Pending, &clean),
        catalog.replace(FileStatus::Pending, &expired)
    );
    let winners = [a.is_ok(), b.is_ok()].into_iter().filter(|ok| *ok).count();
    assert_eq!(winners, 1, "{a:?} / {b:?}");
    let loser = if a.is_err() { a } else { b };
    assert!(matches!(
        loser,
        Err(CatalogError::StatusChanged {
            expected: FileStatus::Pending
        })
    ));
    let stored = catalog
        .get(&record.tenant, record.id)
        .await
        .expect("get")
        .expect("record");
    assert!(stored == clean || stored == expired);
}

/// A write conditioned on a stale status changes nothing.
pub async fn a_write_on_a_stale_status_changes_nothing<C: CatalogReader + CatalogWriter>(
    catalog: &C,
) {
    let record = pending(&fresh_tenant(), now());
    catalog.create(&record).await.expect("create");
    let clean = accepted(&record);
    catalog
        .replace(FileStatus::Pending, &clean)
        .await
        .expect("first write");
    let deleted_from_pending = FileRecord {
        status: FileStatus::Deleted,
        ..record.clone()
    };
    let stale = catalog
        .replace(FileStatus::Pending, &deleted_from_pending)
        .await;
    assert!(
        matches!(stale, Err(CatalogError::StatusChanged { .. })),
        "{stale:?}"
    );
    assert_eq!(
        catalog.get(&record.tenant, record.id).await.expect("get"),
        Some(clean)
    );
}

/// Replacing a record that does not exist is not found (and creates nothing).
pub async fn replacing_a_missing_record_is_not_found<C: CatalogReader + CatalogWriter>(
    catalog: &C,
) {
    let record = pending(&fresh_tenant(), now());
    let result = catalog
        .replace(FileStatus::Pending, &accepted(&record))
        .await;
    assert!(matches!(result, Err(CatalogError::NotFound)), "{result:?}");
    assert_eq!(
        catalog.get(&record.tenant, record.id).await.expect("get"),
        None
    );
}

/// Pages come newest first, each id once, and the last page says there is no more.
pub async fn listing_pages_newest_first_without_gaps_or_repeats<
    C: CatalogReader + CatalogWriter,
>(
    catalog: &C,
) {
    let tenant = fresh_tenant();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let record = pending(&tenant, now());
        catalog.create(&record).await.expect("create");
        ids.push(record.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    catalog
        .create(&pending(&fresh_tenant(), now()))
        .await
        .expect("other tenant");
    ids.reverse();
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..ids.len() {
        let page = catalog
            .list(
                &tenant,
                &ListQuery {
                    status: None,
                    after,
                    limit: 2,
                },
            )
            .await
            .expect("list");
        assert!(page.records.len() <= 2);
        seen.extend(page.records.iter().map(|r| r.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids, "pages went {seen:?}");
}

/// Listing by status returns exactly the files in that status.
pub async fn listing_by_status_returns_only_that_status<C: CatalogReader + CatalogWriter>(
    catalog: &C,
) {
    let tenant = fresh_tenant();
    let waiting = pending(&tenant, now());
    let done = pending(&tenant, now());
    catalog.create(&waiting).await.expect("create");
    catalog.create(&done).await.expect("create");
    catalog
        .replace(FileStatus::Pending, &accepted(&done))
        .await
        .expect("accept");
    let query = |status| ListQuery {
        status: Some(status),
        after: None,
        limit: 10,
    };
    let clean = catalog
        .list(&tenant, &query(FileStatus::Clean))
        .await
        .expect("list");
    let pending_page = catalog
        .list(&tenant, &query(FileStatus::Pending))
        .await
        .expect("list");
    assert_eq!(
        clean.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![done.id]
    );
    assert_eq!(
        pending_page
            .records
            .iter()
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![waiting.id]
    );
    assert_eq!(clean.next, None);
}

/// A time window no other case uses: a random day before 2000.
fn own_window() -> Timestamp {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let day = i64::from(nanos % 10_000) + 1_000;
    chrono::DateTime::from_timestamp(day * 86_400, 0).unwrap_or_default()
}

/// Sweep finds pending uploads past their deadline, oldest deadline first, and
/// nothing decided or still within its deadline.
pub async fn pending_uploads_past_their_deadline_are_due_oldest_first<C>(catalog: &C)
where
    C: CatalogReader + CatalogWriter + CatalogSweep,
{
    let tenant = fresh_tenant();
    let base = own_window();
    let older = pending(&tenant, base);
    let newer = pending(&tenant, base + chrono::Duration::minutes(10));
    let within = pending(&tenant, base + chrono::Duration::hours(3));
    let decided = pending(&tenant, base);
    for record in [&newer, &older, &within, &decided] {
        catalog.create(record).await.expect("create");
    }
    catalog
        .replace(FileStatus::Pending, &accepted(&decided))
        .await
        .expect("accept");
    let at = base + chrono::Duration::hours(2);
    let due = catalog.pending_past_deadline(at, 100).await.expect("due");
    let mine: Vec<_> = due
        .iter()
        .filter(|r| r.tenant == tenant)
        .map(|r| r.id)
        .collect();
    assert_eq!(mine, vec![older.id, newer.id]);
}

/// Retention finds decided files created before the cutoff, and no pending ones.
pub async fn decided_files_before_a_cutoff_are_due_for_retention<C>(catalog: &C)
where
    C: CatalogReader + CatalogWriter + CatalogSweep,
{
    let tenant = fresh_tenant();
    let base = own_window();
    let old = pending(&tenant, base);
    let young = pending(&tenant, base + chrono::Duration::days(2));
    let undecided = pending(&tenant, base);
    for record in [&old, &young, &undecided] {
        catalog.create(record).await.expect("create");
    }
    for record in [&old, &young] {
        catalog
            .replace(FileStatus::Pending, &accepted(record))
            .await
            .expect("accept");
    }
    let due = catalog
        .decided_before(base + chrono::Duration::days(1), 100)
        .await
        .expect("due");
    let mine: Vec<_> = due
        .iter()
        .filter(|r| r.tenant == tenant)
        .map(|r| r.id)
        .collect();
    assert_eq!(mine, vec![old.id]);
}

/// CLEAN files scanned by another ruleset, never scanned, or with a re-scan asked
/// for are due for a re-scan, oldest first; others are not.
pub async fn clean_files_not_scanned_by_the_ruleset_in_force_are_due_for_rescan<C>(catalog: &C)
where
    C: CatalogSweep + CatalogWriter,
{
    let tenant = fresh_tenant();
    let base = now() - chrono::Duration::minutes(10);
    let scanned_by = |record: &FileRecord, ruleset: &str| {
        let mut next = accepted(record);
        if let Some(finding) = next.finding.take() {
            next.finding =
                Some(finding.with_scan(ScanReport::scanned(ruleset.to_owned(), vec![], vec![])));
        }
        next
    };
    let mut made = Vec::new();
    for (minute, kind) in ["current", "never", "asked", "older"]
        .into_iter()
        .enumerate()
    {
        let record = pending(&tenant, base + chrono::Duration::minutes(minute as i64));
        catalog.create(&record).await.expect("create");
        let next = match kind {
            "current" => scanned_by(&record, "r1"),
            "never" => accepted(&record),
            "asked" => scanned_by(&record, "r1")
                .with_rescan_requested(now())
                .expect("CLEAN files can be re-scanned"),
            _ => scanned_by(&record, "r0"),
        };
        catalog
            .replace(FileStatus::Pending, &next)
            .await
            .expect("accept");
        made.push(next.id);
    }
    let tenant = &tenant;
    let due = |ruleset: &'static str| async move {
        catalog
            .clean_needing_rescan(ruleset, 100)
            .await
            .expect("query")
            .into_iter()
            .filter(|r| r.tenant == *tenant)
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(due("r1").await, vec![made[1], made[2], made[3]]);
    assert_eq!(due("r2").await, made);
}

/// A tenant's outstanding re-scan requests are counted, up to the limit asked, and
/// only its own CLEAN files with a request not yet done; a done re-scan drops out.
pub async fn a_tenants_outstanding_rescan_requests_are_counted_up_to_the_limit<C>(catalog: &C)
where
    C: CatalogReader + CatalogWriter,
{
    let tenant = fresh_tenant();
    let other = fresh_tenant();
    let mut asked = Vec::new();
    for owner in [&tenant, &tenant, &tenant, &other] {
        let record = pending(owner, now());
        catalog.create(&record).await.expect("create");
        let clean = accepted(&record);
        catalog
            .replace(FileStatus::Pending, &clean)
            .await
            .expect("accept");
        let next = clean
            .with_rescan_requested(now())
            .expect("CLEAN files can be re-scanned");
        catalog
            .replace(FileStatus::Clean, &next)
            .await
            .expect("ask");
        asked.push(next);
    }
    let not_asked = pending(&tenant, now());
    catalog.create(&not_asked).await.expect("create");
    let count = |limit| catalog.rescans_requested(&tenant, limit);
    assert_eq!(count(10).await.expect("count"), 3);
    assert_eq!(count(2).await.expect("count"), 2);

    let mut done = asked[0].clone();
    done.rescan_requested_at = None;
    catalog
        .replace(FileStatus::Clean, &done)
        .await
        .expect("re-scanned");
    assert_eq!(count(10).await.expect("count"), 2);
    assert_eq!(
        catalog.rescans_requested(&other, 10).await.expect("count"),
        1
    );
}

/// A checkpoint moves forward only from the one stored: of two invocations that
/// went through the same bytes one carries them over, and none once there is a verdict.
pub async fn a_checkpoint_is_carried_over_only_from_the_one_stored<
    C: CatalogReader + CatalogWriter + CheckpointWriter,
>(
    catalog: &C,
) {
    let record = pending(&fresh_tenant(), now());
    catalog.create(&record).await.expect("create");
    let first = IngestCheckpoint::first(progress(64), "r1".into(), Some("etag-1".into()), now());
    let one = record
        .with_checkpoint(first.clone(), now())
        .expect("pending");
    catalog.carry_over(0, &one).await.expect("first carry-over");
    let again = catalog.carry_over(0, &one).await;
    assert!(
        matches!(again, Err(CatalogError::CheckpointMoved { expected: 0 })),
        "{again:?}"
    );
    let two = one
        .with_checkpoint(first.advanced(progress(128), now()), now())
        .expect("pending");
    catalog
        .carry_over(1, &two)
        .await
        .expect("second carry-over");
    let stale = catalog.carry_over(1, &two).await;
    assert!(
        matches!(stale, Err(CatalogError::CheckpointMoved { expected: 1 })),
        "{stale:?}"
    );
    assert_eq!(
        catalog.get(&record.tenant, record.id).await.expect("get"),
        Some(two.clone())
    );

    catalog
        .replace(FileStatus::Pending, &accepted(&two))
        .await
        .expect("verdict");
    let after_verdict = catalog.carry_over(2, &two).await;
    assert!(
        matches!(
            after_verdict,
            Err(CatalogError::StatusChanged {
                expected: FileStatus::Pending
            })
        ),
        "{after_verdict:?}"
    );
}

fn progress(offset: u64) -> PassProgress {
    PassProgress {
        offset,
        hash: HashState(format!("{offset:0>8}")),
        detected_type: ContentType::octet_stream(),
        windows: WindowProgress {
            count: 2,
            matched: vec!["default.EICAR".into()],
            ..WindowProgress::default()
        },
    }
}

/// Expands every catalog case into a test for one backend. `$catalog` is an async
/// expression that yields the implementation.
#[macro_export]
macro_rules! catalog_tests {
    ($catalog:expr) => {
        $crate::cases!(catalog, $catalog;
            a_created_record_reads_back_equal,
            creating_an_existing_id_is_already_exists,
            a_record_is_invisible_to_other_tenants,
            of_two_racing_writers_exactly_one_wins,
            a_write_on_a_stale_status_changes_nothing,
            replacing_a_missing_record_is_not_found,
            listing_pages_newest_first_without_gaps_or_repeats,
            listing_by_status_returns_only_that_status,
            pending_uploads_past_their_deadline_are_due_oldest_first,
            decided_files_before_a_cutoff_are_due_for_retention,
            clean_files_not_scanned_by_the_ruleset_in_force_are_due_for_rescan,
            a_tenants_outstanding_rescan_requests_are_counted_up_to_the_limit,
            a_checkpoint_is_carried_over_only_from_the_one_stored,
        );
    };
}

/// One `#[tokio::test]` per case of a module.
#[macro_export]
macro_rules! cases {
    ($module:ident, $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let subject = $make.await;
                $crate::$module::$case(&subject).await;
            }
        )+
    };
}
