//! Creates the table, bucket and bus with the same keys, indexes and stream the SAM
//! template declares. For emulators and tests: production resources come from
//! `infra/template.yaml`.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

use crate::dynamo::{BY_STATUS_INDEX, DUE_INDEX, RESCANS_INDEX};

/// A boxed SDK or builder error.
pub type ProvisionError = Box<dyn std::error::Error + Send + Sync>;

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()?)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, ProvisionError> {
    Ok(AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()?)
}

fn index(name: &str, hash: &str, range: &str) -> Result<GlobalSecondaryIndex, ProvisionError> {
    Ok(GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(hash, KeyType::Hash)?)
        .key_schema(key(range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?)
}

/// The catalog table: `pk`/`sk`, the `by-status` and `due` indexes, and a stream of
/// new and old images.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
) -> Result<(), ProvisionError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index(BY_STATUS_INDEX, "status_pk", "sk")?)
        .global_secondary_indexes(index(DUE_INDEX, "due_pk", "due_at")?)
        .global_secondary_indexes(index(RESCANS_INDEX, "rescan_pk", "sk")?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()?,
        );
    for attribute in ["pk", "sk", "status_pk", "due_pk", "due_at", "rescan_pk"] {
        request = request.attribute_definitions(string_attribute(attribute)?);
    }
    request.send().await?;
    Ok(())
}

/// A plain bucket, versioning off, for tests and benches that need no versions;
/// [`create_versioned_bucket`] makes the one the template declares.
pub async fn create_bucket(client: &aws_sdk_s3::Client, name: &str) -> Result<(), ProvisionError> {
    client.create_bucket().bucket(name).send().await?;
    Ok(())
}

/// The upload bucket as the template makes it: versioning on, so a delete leaves a
/// marker and every PUT gets a version of its own.
pub async fn create_versioned_bucket(
    client: &aws_sdk_s3::Client,
    name: &str,
) -> Result<(), ProvisionError> {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    create_bucket(client, name).await?;
    client
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// A custom EventBridge bus named `name`, where publish puts Airlock's events.
pub async fn create_bus(
    client: &aws_sdk_eventbridge::Client,
    name: &str,
) -> Result<(), ProvisionError> {
    client.create_event_bus().name(name).send().await?;
    Ok(())
}

/// Delivers every Airlock event on `bus` to the SQS queue `queue_arn`, as a consumer
/// subscribes (rule `name` matching source `airlock`).
pub async fn route_bus_to_queue(
    client: &aws_sdk_eventbridge::Client,
    bus: &str,
    name: &str,
    queue_arn: &str,
) -> Result<(), ProvisionError> {
    client
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(format!(
            r#"{{"source": ["{}"]}}"#,
            airlock_domain::EVENT_SOURCE
        ))
        .send()
        .await?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("queue")
        .arn(queue_arn)
        .build()?;
    client
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await?;
    Ok(())
}
