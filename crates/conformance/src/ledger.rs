//! The usage ledger: each change counted exactly once.

use airlock_domain::{
    FileStatus, StatusCount, UsageDelta,
    ports::{UsageLedger, UsageReader},
};

use crate::{accepted, fresh_tenant, now, pending};

/// A delta applies once; its redelivery changes nothing.
pub async fn a_change_is_counted_exactly_once<L: UsageLedger + UsageReader>(ledger: &L) {
    let record = pending(&fresh_tenant(), now());
    let created = UsageDelta::from_change(None, &record).expect("delta");
    assert!(
        !ledger
            .is_applied(&created.change_id)
            .await
            .expect("is_applied")
    );
    assert!(ledger.apply_once(&created).await.expect("apply"));
    assert!(!ledger.apply_once(&created).await.expect("apply again"));
    assert!(
        ledger
            .is_applied(&created.change_id)
            .await
            .expect("is_applied")
    );
    let clean = accepted(&record);
    let verdict = UsageDelta::from_change(Some(&record), &clean).expect("delta");
    assert!(ledger.apply_once(&verdict).await.expect("apply"));
    let usage = ledger.usage(&record.tenant).await.expect("usage");
    assert_eq!(
        usage.by_status[&FileStatus::Pending],
        StatusCount::default()
    );
    assert_eq!(
        usage.by_status[&FileStatus::Clean],
        StatusCount {
            files: 1,
            bytes: 2048
        }
    );
}

/// The same delta applied concurrently is counted once.
pub async fn racing_redeliveries_count_once<L: UsageLedger + UsageReader>(ledger: &L) {
    let record = pending(&fresh_tenant(), now());
    let delta = UsageDelta::from_change(None, &record).expect("delta");
    let (a, b, c) = tokio::join!(
        ledger.apply_once(&delta),
        ledger.apply_once(&delta),
        ledger.apply_once(&delta)
    );
    let applied = [a, b, c]
        .into_iter()
        .filter(|r| matches!(r, Ok(true)))
        .count();
    assert_eq!(applied, 1);
    let usage = ledger.usage(&record.tenant).await.expect("usage");
    assert_eq!(
        usage.by_status[&FileStatus::Pending],
        StatusCount {
            files: 1,
            bytes: 2048
        }
    );
}

/// A tenant with no files has every status at zero.
pub async fn an_unknown_tenant_has_all_counters_at_zero<L: UsageReader>(ledger: &L) {
    let usage = ledger.usage(&fresh_tenant()).await.expect("usage");
    assert_eq!(usage.by_status.len(), FileStatus::ALL.len());
    assert!(
        usage
            .by_status
            .values()
            .all(|c| *c == StatusCount::default())
    );
}

/// Expands every ledger case into a test for one backend.
#[macro_export]
macro_rules! ledger_tests {
    ($ledger:expr) => {
        $crate::cases!(ledger, $ledger;
            a_change_is_counted_exactly_once,
            racing_redeliveries_count_once,
            an_unknown_tenant_has_all_counters_at_zero,
        );
    };
}
