//! `infra/template.yaml` itself, deployed: the SAM transform, then CloudFormation's
//! CreateStack on the AWS emulator (moto, `scripts/with-moto.sh`), by
//! `scripts/deploy-template.py`; then the four function binaries, run under the
//! Runtime API emulator with exactly the environment the deployed stack gives each
//! function (read back from the emulator's Lambda, every `!Ref`/`!GetAtt`/`!Sub`
//! resolved by its CloudFormation), through a whole flow: create, upload, ingest,
//! publish, status, usage, download, sweep. No resource here is made by hand but the
//! queue a consumer of the bus would own.
//!
//! What moto's CloudFormation does not create, left out of the deployed copy only
//! (`deploy-template.py` refuses any other type moto would skip), and what checks it
//! instead:
//!
//! | left out | why | checked instead by |
//! |---|---|---|
//! | `HttpApi` (API Gateway v2, JWT authorizer, stage) and the api's invoke permissions | no API Gateway v2 in moto's CloudFormation | `make lint-infra` (sam validate, cfn-lint + serverless rules on the transform, checkov); the api binary gets API Gateway v2 events from the fixture; `functions/api/tests/openapi.rs` (routes) |
//! | the two event source mappings (stream → publish, continuation queue → ingest) | moto would run the function through Docker for each record | this test reads the stream and the queues as a mapping would and invokes the binaries; `least_privilege.rs` holds the mappings' rights in the roles |
//! | the bucket's notification to ingest | moto never invokes a Lambda function, and its CloudFormation does not apply a bucket's notifications | substituted: the same events and key filter (`uploads/`) notify a queue the test reads, put on the bucket through S3 after the stack is created |
//! | `EventInvokeConfig` (retries, on-failure destinations) | not in moto's CloudFormation | lint only |
//! | the alarms, and the dashboard that names them | no CloudWatch alarms in moto's CloudFormation | `observability.rs` |
//! | `BucketPolicy`, `AccessLogBucketPolicy` | no bucket policies in moto's CloudFormation (and moto's S3 applies a policy's Deny statements without their conditions: `DenyInsecureTransport` alone would refuse every object request) | the script resolves the policy from the stack's resources; `simulated_permissions.rs` evaluates it with IAM's logic, `bucket_policy.rs` by hand |
//! | `SweepDeadLetterQueuePolicy` | no SQS queue policies in moto's CloudFormation | lint only |
//!
//! Two gaps of moto 5.2.5 are worked around, and named, in the script: `Ref` to an
//! event bus is answered through `Fn::GetAtt … Name` (what CloudFormation's `Ref`
//! returns), and the environment is read with ListFunctions (GetFunctionConfiguration
//! leaves it out).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::collections::BTreeSet;

use support::{
    emulator_endpoint,
    pipeline::{Functions, Transfer, run_whole_flow},
    stack::deploy_template,
};

/// Every resource the deployed copy leaves out, as the table above lists them.
const LEFT_OUT: &[&str] = &[
    "AccessLogBucketPolicy",
    "ApiErrorsAlarm",
    "ApiFunctionAbortUploadPermission",
    "ApiFunctionCompleteUploadPermission",
    "ApiFunctionCreateFilePermission",
    "ApiFunctionDeleteFilePermission",
    "ApiFunctionDownloadFilePermission",
    "ApiFunctionGetFilePermission",
    "ApiFunctionGetUsagePermission",
    "ApiFunctionListFilesPermission",
    "ApiFunctionListPartsPermission",
    "ApiFunctionRescanFilePermission",
    "ApiFunctionSignPartsPermission",
    "BucketPolicy",
    "ContinuationDeadLetterAlarm",
    "Dashboard",
    "FilesInfectedAlarm",
    "FilesRejectedSpikeAlarm",
    "HttpApi",
    "HttpApiApiGatewayDefaultStage",
    "IngestDeadLetterAlarm",
    "IngestErrorsAlarm",
    "IngestFunctionContinuations",
    "IngestFunctionEventInvokeConfig",
    "Outputs.ApiUrl",
    "Outputs.DashboardName",
    "PublishDeadLetterAlarm",
    "PublishErrorsAlarm",
    "PublishFunctionCatalogChanges",
    "PublishIteratorAgeAlarm",
    "SweepDeadLetterAlarm",
    "SweepDeadLetterQueuePolicy",
    "SweepErrorsAlarm",
    "SweepFunctionEventInvokeConfig",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_deployed_through_cloudformation_runs_a_whole_flow_with_the_environment_it_gives_each_function()
 {
    let stack = deploy_template(&emulator_endpoint(), false);
    let left_out: BTreeSet<String> = stack.stripped().into_keys().collect();
    let documented: BTreeSet<String> = LEFT_OUT.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        left_out, documented,
        "what the deployed copy leaves out changed: update the table in this file's docs"
    );

    let sdk = airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await;
    let deployment = stack.deployment(sdk.clone(), sdk).await;
    assert_table_as_declared(&deployment).await;
    let mut functions = Functions {
        api: stack.function(&deployment, "ApiFunction", "api", &[]).await,
        ingest: stack
            .function(&deployment, "IngestFunction", "ingest", &[])
            .await,
        publish: stack
            .function(&deployment, "PublishFunction", "publish", &[])
            .await,
        sweep: stack
            .function(&deployment, "SweepFunction", "sweep", &[])
            .await,
    };
    run_whole_flow(&deployment, &mut functions, &Transfer::Presigned).await;
}

/// The table CloudFormation made has the indexes and the stream the code relies on.
async fn assert_table_as_declared(deployment: &support::Deployment) {
    let table = aws_sdk_dynamodb::Client::new(&deployment.sdk)
        .describe_table()
        .table_name(&deployment.table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let indexes: BTreeSet<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|index| index.index_name())
        .collect();
    assert_eq!(indexes, BTreeSet::from(["by-status", "due", "rescans"]));
    assert_eq!(
        table
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str()),
        Some("NEW_AND_OLD_IMAGES")
    );
}
