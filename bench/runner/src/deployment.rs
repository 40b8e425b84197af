//! One deployment on the AWS emulator (moto, started by `scripts/with-moto.sh`): the
//! table, bucket and bus the functions are pointed at, and PENDING records for the
//! objects ingest is measured on.

use std::path::Path;

use airlock_aws::{DynamoCatalog, provision};
use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, TenantId, UploadRequest, ports::CatalogWriter,
};
use aws_sdk_s3::primitives::ByteStream;

use crate::{BenchError, settings::Names};

/// The tenant every benchmark record belongs to.
pub const TENANT: &str = "bench";

/// The resources, and clients to reach them.
pub struct Deployment {
    /// Their names.
    pub names: Names,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    catalog: DynamoCatalog,
}

fn setup(
    what: &'static str,
) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> BenchError {
    move |e| BenchError::Setup(what, e.to_string())
}

impl Deployment {
    /// Creates a fresh table, bucket and bus with a unique name.
    pub async fn create() -> Result<Self, BenchError> {
        if std::env::var("AWS_ENDPOINT_URL").is_err() {
            return Err(BenchError::Setup(
                "the AWS emulator",
                "AWS_ENDPOINT_URL is not set: run through scripts/bench.sh (make bench)".into(),
            ));
        }
        let sdk = airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await;
        let name = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
        // No checksum on upload, as a browser's presigned PUT sends none: otherwise the
        // emulator would store one and every GetObject would be checked against it.
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .request_checksum_calculation(
                    aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                )
                .build(),
        );
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        provision::create_table(&dynamodb, &name)
            .await
            .map_err(setup("table"))?;
        provision::create_bucket(&s3, &name)
            .await
            .map_err(setup("bucket"))?;
        provision::create_bus(&aws_sdk_eventbridge::Client::new(&sdk), &name)
            .await
            .map_err(setup("bus"))?;
        Ok(Self {
            names: Names {
                table: name.clone(),
                bucket: name.clone(),
                bus: name.clone(),
            },
            catalog: DynamoCatalog::new(dynamodb.clone(), name),
            s3,
            dynamodb,
        })
    }

    /// Uploads `file` as a new upload of `size` bytes declared `image/png`; returns
    /// its record (PENDING) for [`Deployment::reset`].
    pub async fn upload(&self, file: &Path, size: u64) -> Result<FileRecord, BenchError> {
        let record = pending_record(size)?;
        let body = ByteStream::from_path(file)
            .await
            .map_err(|e| BenchError::Setup("reading the object", e.to_string()))?;
        self.s3
            .put_object()
            .bucket(&self.names.bucket)
            .key(record.key().to_string())
            .content_type("image/png")
            .body(body)
            .send()
            .await
            .map_err(|e| BenchError::Setup("uploading to the emulator", format!("{e:?}")))?;
        self.reset(&record).await?;
        Ok(record)
    }

    /// Stores `bytes` under `key` (the deployment's rule files, say).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BenchError> {
        self.s3
            .put_object()
            .bucket(&self.names.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| BenchError::Setup("storing an object", format!("{e:?}")))?;
        Ok(())
    }

    /// Makes `record` PENDING again, so the next ingest does all its work.
    pub async fn reset(&self, record: &FileRecord) -> Result<(), BenchError> {
        self.dynamodb
            .delete_item()
            .table_name(&self.names.table)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{}", record.tenant)),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("FILE#{}", record.id)),
            )
            .send()
            .await
            .map_err(|e| BenchError::Setup("resetting a record", format!("{e:?}")))?;
        self.catalog
            .create(record)
            .await
            .map_err(|e| BenchError::Setup("creating a record", e.to_string()))
    }
}

/// A PENDING record of `size` bytes declared `image/png`, for tenant [`TENANT`].
pub fn pending_record(size: u64) -> Result<FileRecord, BenchError> {
    pending_record_as("bench.png", "image/png", size)
}

/// A PENDING record of `size` bytes named `name` and declared `content_type`.
pub fn pending_record_as(
    name: &str,
    content_type: &str,
    size: u64,
) -> Result<FileRecord, BenchError> {
    let bad = |e: airlock_domain::DomainError| BenchError::Setup("a record", e.to_string());
    let now = chrono::Utc::now();
    Ok(FileRecord::pending(
        TenantId::parse(TENANT).map_err(bad)?,
        FileId::generate(),
        UploadRequest {
            name: FileName::parse(name).map_err(bad)?,
            content_type: ContentType::parse(content_type).map_err(bad)?,
            size,
        },
        now,
        now + chrono::Duration::hours(1),
    ))
}
