//! IAM's evaluation of a request, by `@cloud-copilot/iam-simulate` (identity and
//! resource policies, every condition operator) through `scripts/iam-simulate.sh`,
//! which installs the pinned library on first use: for what no AWS emulator
//! evaluates (a bucket policy's conditions; moto's authorizer and DynamoDB or
//! EventBridge resources).

use std::io::Write;

use serde_json::{Value, json};

use super::ACCOUNT;

/// One request: who (a role ARN and its identity policies) does what to which
/// resource, with the condition keys the request carries.
pub struct Request<'a> {
    pub principal: &'a str,
    pub identity_policies: &'a [Value],
    pub action: &'a str,
    pub resource: &'a str,
    pub context: Value,
}

impl Request<'_> {
    fn simulation(&self, resource_policy: Option<&Value>) -> Value {
        let mut context = self.context.clone();
        context["aws:PrincipalArn"] = json!(self.principal);
        let identity: Vec<Value> = self
            .identity_policies
            .iter()
            .enumerate()
            .map(|(i, policy)| json!({"name": format!("policy-{i}"), "policy": policy}))
            .collect();
        let mut simulation = json!({
            "request": {
                "principal": self.principal,
                "action": self.action,
                "resource": {"resource": self.resource, "accountId": ACCOUNT},
                "contextVariables": context,
            },
            "identityPolicies": identity,
            "serviceControlPolicies": [],
            "resourceControlPolicies": [],
        });
        if let Some(policy) = resource_policy {
            simulation["resourcePolicy"] = policy.clone();
        }
        simulation
    }
}

/// IAM's decision on each request ("Allowed", "ExplicitlyDenied",
/// "ImplicitlyDenied"), in order, under the resource policy if there is one.
pub fn decide(requests: &[Request<'_>], resource_policy: Option<&Value>) -> Vec<String> {
    let simulations: Vec<Value> = requests
        .iter()
        .map(|r| r.simulation(resource_policy))
        .collect();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/iam-simulate.sh");
    let mut child = std::process::Command::new(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(simulations).to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "iam-simulate: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    results
        .iter()
        .zip(requests)
        .map(|(result, request)| {
            result["result"]
                .as_str()
                .unwrap_or_else(|| {
                    panic!(
                        "{} {} by {}: {}",
                        request.action, request.resource, request.principal, result["errors"]
                    )
                })
                .to_owned()
        })
        .collect()
}
