//! What no AWS emulator enforces, decided by IAM's evaluation logic
//! (`@cloud-copilot/iam-simulate`, `support/simulator.rs`) on the policies of the
//! deployed template: the stack is deployed into the emulator
//! (`scripts/deploy-template.py`), the roles' inline policies are read back from
//! its IAM as CloudFormation made them, and the bucket policy (which moto's
//! CloudFormation does not create) is resolved from the stack's resources as
//! CloudFormation would (the real bucket and role ARNs).
//!
//! - The bucket policy, with its conditions as written: no principal but ingest and
//!   sweep (both exempted by `DenyReadingUnverifiedObjects`) reads an object under
//!   `uploads/` or `quarantine/` whose `airlock-status` tag is not CLEAN (or that
//!   has none), whatever its own policies allow; and nothing is read over plain HTTP.
//! - DynamoDB and EventBridge, which moto's authorizer cannot scope to a table or a
//!   bus (`enforced_permissions.rs`): the calls the code makes are allowed on the
//!   exact table, index and bus, and calls outside each role are not.
//!
//! Each case names its expectation; a case that removes the statement under test
//! shows the case would fail without it.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use serde_json::{Value, json};
use support::{
    ACCOUNT, REGION, emulator_endpoint,
    simulator::{Request, decide},
    stack::{Stack, deploy_template},
};

const STATUSES: [Option<&str>; 5] = [
    None,
    Some("PENDING"),
    Some("REJECTED"),
    Some("INFECTED"),
    Some("CLEAN"),
];

/// A principal in the account whose own policy allows everything: only the bucket
/// policy stands between it and the objects.
fn stranger_policies() -> Vec<Value> {
    vec![
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    ]
}

fn stranger() -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/someone-else")
}

struct Reader {
    name: &'static str,
    arn: String,
    policies: Vec<Value>,
}

fn readers(stack: &Stack) -> Vec<Reader> {
    let mut readers: Vec<Reader> = [
        ("ingest", "IngestFunction"),
        ("api", "ApiFunction"),
        ("publish", "PublishFunction"),
        ("sweep", "SweepFunction"),
    ]
    .into_iter()
    .map(|(name, logical)| Reader {
        name,
        arn: stack.role(logical),
        policies: stack.role_policies(logical),
    })
    .collect();
    readers.push(Reader {
        name: "a stranger allowed everything by its own policy",
        arn: stranger(),
        policies: stranger_policies(),
    });
    readers
}

fn tag_context(status: Option<&str>, secure: bool) -> Value {
    let mut context = json!({"aws:SecureTransport": secure.to_string()});
    if let Some(status) = status {
        context["s3:ExistingObjectTag/airlock-status"] = json!(status);
    }
    context
}

#[test]
fn no_one_but_ingest_and_sweep_reads_an_object_not_tagged_clean_under_the_deployed_bucket_policy() {
    let stack = deploy_template(&emulator_endpoint(), false);
    let policy = stack.bucket_policy("BucketPolicy");
    let bucket = stack.resource("Bucket");
    let readers = readers(&stack);
    let objects = [
        format!("arn:aws:s3:::{bucket}/uploads/acme/01J0000000000000000000000"),
        format!("arn:aws:s3:::{bucket}/quarantine/acme/01J0000000000000000000000"),
    ];
    let mut cases = Vec::new();
    let mut requests = Vec::new();
    for reader in &readers {
        for action in ["s3:GetObject", "s3:GetObjectVersion"] {
            for object in &objects {
                for status in STATUSES {
                    cases.push((reader.name, action, object.clone(), status));
                    requests.push(Request {
                        principal: &reader.arn,
                        identity_policies: &reader.policies,
                        action,
                        resource: object,
                        context: tag_context(status, true),
                    });
                }
            }
        }
    }
    let decisions = decide(&requests, Some(&policy));
    let own_policies_alone = decide(&requests, None);
    for (((reader, action, object, status), decision), alone) in
        cases.iter().zip(&decisions).zip(&own_policies_alone)
    {
        let exempt = *reader == "ingest" || *reader == "sweep";
        if exempt || *status == Some("CLEAN") {
            // The bucket policy takes nothing away: the reader's own policies decide.
            assert_eq!(
                decision, alone,
                "{reader} {action} {object} tagged {status:?}"
            );
        } else {
            assert_eq!(
                decision, "ExplicitlyDenied",
                "{reader} {action} {object} tagged {status:?}"
            );
        }
    }
    // The api (the signer of download URLs) and the stranger can read CLEAN uploads.
    for ((reader, _, object, status), decision) in cases.iter().zip(&decisions) {
        if (*reader == "api" || reader.starts_with("a stranger"))
            && object.contains("/uploads/")
            && *status == Some("CLEAN")
        {
            assert_eq!(decision, "Allowed", "{reader} {object}");
        }
    }

    // Over plain HTTP even a CLEAN object is refused to everyone.
    let api = &readers[1];
    let insecure = Request {
        principal: &api.arn,
        identity_policies: &api.policies,
        action: "s3:GetObject",
        resource: &objects[0],
        context: tag_context(Some("CLEAN"), false),
    };
    assert_eq!(decide(&[insecure], Some(&policy)), ["ExplicitlyDenied"]);

    // Without DenyReadingUnverifiedObjects the api's presigned GET of a PENDING
    // object would be allowed: the cases above test that statement.
    let mut loosened = policy.clone();
    loosened["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != "DenyReadingUnverifiedObjects");
    let pending = Request {
        principal: &api.arn,
        identity_policies: &api.policies,
        action: "s3:GetObject",
        resource: &objects[0],
        context: tag_context(Some("PENDING"), true),
    };
    assert_eq!(decide(&[pending], Some(&loosened)), ["Allowed"]);
}

#[test]
fn the_roles_allow_their_own_table_index_and_bus_calls_and_no_others() {
    let stack = deploy_template(&emulator_endpoint(), false);
    let table = format!(
        "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
        stack.resource("Table")
    );
    let index = |name: &str| format!("{table}/index/{name}");
    let bus = format!(
        "arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{}",
        stack.bus()
    );
    let other_bus = format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default");
    // (function, action, resource, allowed): the calls least_privilege.rs observes the
    // code making, then calls outside each role.
    let cases: Vec<(&str, &str, String, bool)> = vec![
        ("IngestFunction", "dynamodb:GetItem", table.clone(), true),
        ("IngestFunction", "dynamodb:PutItem", table.clone(), true),
        (
            "IngestFunction",
            "dynamodb:DeleteItem",
            table.clone(),
            false,
        ),
        ("IngestFunction", "dynamodb:Query", table.clone(), false),
        ("IngestFunction", "events:PutEvents", bus.clone(), false),
        ("PublishFunction", "dynamodb:GetItem", table.clone(), true),
        ("PublishFunction", "dynamodb:PutItem", table.clone(), true),
        (
            "PublishFunction",
            "dynamodb:UpdateItem",
            table.clone(),
            true,
        ),
        ("PublishFunction", "events:PutEvents", bus.clone(), true),
        (
            "PublishFunction",
            "events:PutEvents",
            other_bus.clone(),
            false,
        ),
        ("PublishFunction", "dynamodb:Query", table.clone(), false),
        (
            "PublishFunction",
            "dynamodb:DeleteItem",
            table.clone(),
            false,
        ),
        ("ApiFunction", "dynamodb:GetItem", table.clone(), true),
        ("ApiFunction", "dynamodb:PutItem", table.clone(), true),
        ("ApiFunction", "dynamodb:Query", table.clone(), true),
        ("ApiFunction", "dynamodb:Query", index("by-status"), true),
        ("ApiFunction", "dynamodb:Query", index("rescans"), true),
        ("ApiFunction", "dynamodb:Query", index("due"), false),
        ("ApiFunction", "dynamodb:UpdateItem", table.clone(), false),
        ("ApiFunction", "events:PutEvents", bus.clone(), false),
        ("SweepFunction", "dynamodb:Query", index("due"), true),
        ("SweepFunction", "dynamodb:GetItem", table.clone(), true),
        ("SweepFunction", "dynamodb:PutItem", table.clone(), true),
        ("SweepFunction", "dynamodb:Query", index("by-status"), false),
        ("SweepFunction", "dynamodb:Query", table.clone(), false),
        ("SweepFunction", "dynamodb:DeleteItem", table.clone(), false),
        ("SweepFunction", "events:PutEvents", bus.clone(), false),
    ];
    let roles: Vec<(String, Vec<Value>)> = cases
        .iter()
        .map(|(function, ..)| (stack.role(function), stack.role_policies(function)))
        .collect();
    let requests: Vec<Request<'_>> = cases
        .iter()
        .zip(&roles)
        .map(|((_, action, resource, _), (arn, policies))| Request {
            principal: arn,
            identity_policies: policies,
            action,
            resource,
            context: json!({}),
        })
        .collect();
    let decisions = decide(&requests, None);
    for ((function, action, resource, allowed), decision) in cases.iter().zip(&decisions) {
        assert_eq!(
            decision == "Allowed",
            *allowed,
            "{function} {action} on {resource}: {decision}"
        );
    }
}
