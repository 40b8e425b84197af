//! One case's world: a fresh deployment on the emulator (table, versioned bucket,
//! bus and a queue the bus delivers to), and the four handlers in process on the AWS
//! adapters, each on clients of its own that carry the case's fault injector — as
//! each Lambda binary builds its clients once in `main.rs`.

use std::{path::Path, time::Duration};

use airlock_api::{Api, ApiSettings};
use airlock_aws::{DynamoCatalog, EventBridgePublisher, S3Store};
use airlock_domain::{Policy, ScanLimits, ports::SystemClock};
use airlock_ingest::Ingest;
use airlock_local::DirRuleSource;
use airlock_publish::Publish;
use airlock_sweep::{Sweep, SweepSettings};
use airlock_testkit::{FixedClock, scanning::scanning_from};
use aws_sdk_dynamodb::config::{
    retry::{RetryConfig, RetryPartition},
    timeout::TimeoutConfig,
};

use crate::{
    injector::{Aim, Faults},
    support::{self, Deployment},
};

/// How long one attempt may take before the SDK gives up on it and retries: short,
/// so a timed-out attempt costs little, and far above what the emulator needs.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// How far sweep's clock is ahead of the others: past the upload window (an hour)
/// and ingest's grace, so the uploads that never came are expired.
const SWEEP_AHEAD: chrono::Duration = chrono::Duration::hours(2);

/// The smallest multipart threshold S3 allows, so a declared 6 MiB upload is sent in
/// parts and sweep has a multipart upload to abort.
const PART_BYTES: u64 = 5 * 1024 * 1024;

pub type ApiHandler = Api<DynamoCatalog, S3Store, DynamoCatalog, SystemClock>;
pub type IngestHandler = Ingest<DynamoCatalog, S3Store, SystemClock, DirRuleSource>;
pub type PublishHandler = Publish<EventBridgePublisher, DynamoCatalog>;
pub type SweepHandler = Sweep<DynamoCatalog, S3Store, FixedClock, DirRuleSource>;

/// A case's deployment and handlers.
pub struct World {
    /// The resources, with clients that never fail (the test's own reads).
    pub deployment: Deployment,
    pub faults: Faults,
    pub api: ApiHandler,
    pub ingest: IngestHandler,
    pub publish: PublishHandler,
    pub sweep: SweepHandler,
}

/// The SDK configuration every case starts from: the environment's (the emulator's
/// endpoint and credentials), with the production retry policy (standard, three
/// attempts) on a short backoff, so retries cost milliseconds, and an attempt
/// timeout.
pub async fn base_sdk() -> aws_config::SdkConfig {
    support::emulator_endpoint();
    let sdk = airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await;
    sdk.to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .build()
}

/// The clients of one function, each with the case's injector.
struct Clients {
    dynamodb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    events: aws_sdk_eventbridge::Client,
}

impl Clients {
    /// `function`'s clients. Their retry partition is the case's own: the SDK's
    /// retry quota is shared by every client in a partition, and a hundred cases of
    /// retries in one would run it dry and stop later cases' retries.
    fn of(function: &'static str, sdk: &aws_config::SdkConfig, faults: &Faults) -> Self {
        let partition = RetryPartition::new(format!("sdk-faults-{}", ulid::Ulid::new()));
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(faults.tagger(function))
            .retry_partition(partition.clone())
            .build();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .interceptor(faults.tagger(function))
            .retry_partition(partition.clone())
            .build();
        let events = aws_sdk_eventbridge::config::Builder::from(sdk)
            .interceptor(faults.tagger(function))
            .retry_partition(partition)
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            s3: aws_sdk_s3::Client::from_conf(s3),
            events: aws_sdk_eventbridge::Client::from_conf(events),
        }
    }

    fn catalog(&self, deployment: &Deployment) -> DynamoCatalog {
        DynamoCatalog::new(self.dynamodb.clone(), &deployment.table)
    }

    fn store(&self, deployment: &Deployment) -> S3Store {
        S3Store::new(self.s3.clone(), &deployment.bucket)
    }
}

/// A fresh deployment, and the handlers on clients failing where `aim` says. The
/// default rules come from `rules`, a folder every case shares: the first case
/// compiles them and keeps the compiled set there, the others read it back, as a
/// cold start does (compiling them twice a case would take most of the test's time).
pub async fn world(base: &aws_config::SdkConfig, rules: &Path, aim: Option<Aim>) -> World {
    let deployment = support::deploy_without_notifications().await;
    let faults = Faults::aimed(aim);
    let http = base
        .http_client()
        .expect("load_sdk_config sets the HTTPS client");
    let sdk = base
        .to_builder()
        .http_client(faults.http_client(http))
        .build();
    let clients = |function| Clients::of(function, &sdk, &faults);

    let api = clients("api");
    let api = Api::new(
        api.catalog(&deployment),
        api.store(&deployment),
        api.catalog(&deployment),
        SystemClock,
        ApiSettings {
            multipart_threshold: PART_BYTES,
            part_size: PART_BYTES,
            multipart_window: chrono::Duration::hours(1),
            ..ApiSettings::default()
        },
    );
    let ingest = clients("ingest");
    let ingest = Ingest::new(
        ingest.catalog(&deployment),
        ingest.store(&deployment),
        SystemClock,
        Policy::default(),
        scanning_from(rules, ScanLimits::default()).await,
    )
    .with_quarantine(true);
    let publish = clients("publish");
    let publish = Publish::new(
        EventBridgePublisher::new(publish.events.clone(), &deployment.bus),
        publish.catalog(&deployment),
    );
    let sweep = clients("sweep");
    let sweep = Sweep::new(
        sweep.catalog(&deployment),
        sweep.store(&deployment),
        FixedClock::at(chrono::Utc::now() + SWEEP_AHEAD),
        SweepSettings {
            // Bytes of a deleted file go in the run after the delete.
            retired_grace: chrono::Duration::zero(),
            ..SweepSettings::default()
        },
        scanning_from(rules, ScanLimits::default()).await,
    )
    .with_quarantine(true);
    World {
        deployment,
        faults,
        api,
        ingest,
        publish,
        sweep,
    }
}
