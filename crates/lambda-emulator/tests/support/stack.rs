//! `infra/template.yaml` deployed through an AWS emulator's CloudFormation by
//! `scripts/deploy-template.py` (the SAM transform, then CreateStack on moto), and
//! what the tests read from the deployed stack: each resource's physical id, each
//! function's environment and role as moto created them.

use std::collections::BTreeMap;

use airlock_lambda_emulator::Function;
use serde_json::Value;

use super::{Deployment, binary, provision_events_queue};

/// One stack, as `scripts/deploy-template.py` reported it.
pub struct Stack {
    report: Value,
}

/// The folder the repository is in.
fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Deploys the template into the emulator at `endpoint` under a fresh stage name
/// (so tests sharing an emulator do not meet), with the emulator's set-up
/// credentials from this process's environment. `handing_out_credentials` also gets
/// each role's credentials and the driver's (for an emulator that will enforce IAM).
pub fn deploy_template(endpoint: &str, handing_out_credentials: bool) -> Stack {
    let python = std::env::var("AIRLOCK_TEST_PYTHON")
        .expect("AIRLOCK_TEST_PYTHON (set by scripts/with-moto.sh): run `make test`");
    let ulid = ulid::Ulid::new().to_string().to_lowercase();
    // The stage is part of the bucket name: lowercase, at most 20 characters; the
    // ULID's last 12 characters are random.
    let stage = format!("t{}", &ulid[ulid.len() - 12..]);
    let root = repository();
    let output = std::process::Command::new(python)
        .arg(root.join("scripts/deploy-template.py"))
        .arg(&stage)
        .arg(root.join("infra/template.yaml"))
        .args(handing_out_credentials.then_some("--credentials"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "deploy-template.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Stack {
        report: serde_json::from_slice(&output.stdout).unwrap(),
    }
}

impl Stack {
    /// The physical id of a resource the stack created.
    pub fn resource(&self, logical: &str) -> String {
        self.report["resources"][logical]
            .as_str()
            .unwrap_or_else(|| panic!("the stack has no {logical}"))
            .to_owned()
    }

    /// What was left out of the deployed copy, logical id → why.
    pub fn stripped(&self) -> BTreeMap<String, String> {
        serde_json::from_value(self.report["stripped"].clone()).unwrap()
    }

    /// A function's environment, as the deployed stack gives it.
    pub fn environment(&self, function: &str) -> BTreeMap<String, String> {
        serde_json::from_value(self.report["functions"][function]["environment"].clone()).unwrap()
    }

    /// The event bus's name (the stack's `BusName` output).
    pub fn bus(&self) -> String {
        self.report["outputs"]["BusName"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Credentials handed out with `--credentials`: a function's role (by its
    /// logical id) or `driver`.
    pub fn credentials(&self, who: &str) -> aws_sdk_s3::config::Credentials {
        let keys = &self.report["credentials"][who];
        let text = |name: &str| keys[name].as_str().unwrap().to_owned();
        let token = Some(text("SessionToken")).filter(|t| !t.is_empty());
        aws_sdk_s3::config::Credentials::new(
            text("AccessKeyId"),
            text("SecretAccessKey"),
            token,
            None,
            "deploy-template",
        )
    }

    /// A bucket policy (by its logical id), resolved as CloudFormation would.
    pub fn bucket_policy(&self, logical: &str) -> Value {
        self.report["bucket_policies"][logical].clone()
    }

    /// The inline policy documents of a function's role, as the emulator's IAM holds
    /// them.
    pub fn role_policies(&self, function: &str) -> Vec<Value> {
        self.report["role_policies"][function]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The ARN of a function's execution role.
    pub fn role(&self, function: &str) -> String {
        self.report["functions"][function]["role"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The deployment the tests' helpers drive: the stack's table, bucket and bus,
    /// the queue the bucket notifies (the stand-in for ingest's trigger), and a
    /// queue the bus delivers to, as a consumer's would.
    /// `bucket_sdk` reaches the bucket and its queue, `sdk` the rest.
    pub async fn deployment(
        &self,
        sdk: aws_config::SdkConfig,
        bucket_sdk: aws_config::SdkConfig,
    ) -> Deployment {
        let bus = self.bus();
        let events_queue = provision_events_queue(&sdk, &bus).await;
        Deployment {
            sdk,
            bucket_sdk,
            table: self.resource("Table"),
            bucket: self.resource("Bucket"),
            bus,
            uploads_queue: self.report["uploads_queue_url"]
                .as_str()
                .unwrap()
                .to_owned(),
            events_queue,
            logs: tempfile::tempdir().unwrap(),
        }
    }

    /// Starts a function binary as Lambda would: with the environment the stack
    /// gives it and nothing else from this process but the AWS credentials, region
    /// and endpoint, which `extra` may override (a role's credentials, an endpoint).
    pub async fn function(
        &self,
        deployment: &Deployment,
        logical: &str,
        name: &str,
        extra: &[(&str, String)],
    ) -> Function {
        let environment = self.environment(logical);
        let mut env: Vec<(&str, String)> = environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        env.extend(extra.iter().cloned());
        let log = deployment.logs.path().join(format!("{name}.log"));
        Function::spawn_as_on_lambda(&binary(&format!("airlock-{name}")), name, &env, &log)
            .await
            .unwrap()
    }
}
