//! The upload bucket's policy, as `infra/template.yaml` writes it, evaluated for the
//! requests it exists to refuse and the ones Airlock needs. No emulator enforces a
//! bucket policy (moto ignores them), so this evaluates the template's own Deny
//! statements with S3's rules for the condition operators they use: every operator
//! of a statement must hold, every key within one, any value of a list; the negated
//! operators (`StringNotEquals`, `ArnNotEquals`) hold for a key the request lacks.
//! Removing or loosening any statement the audit asked for fails a case here; it is
//! not IAM's evaluator (the faults issue brings one), so it says nothing of Allows.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod sam;

use sam::template;
use yaml_rust2::Yaml;

fn statements() -> Vec<Yaml> {
    let template = template();
    let statements =
        &template["Resources"]["BucketPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    statements.as_vec().unwrap().clone()
}

/// Every string of a node (CloudFormation's `!Sub`, `!GetAtt` and `!Ref` tags parse
/// as their plain argument; `!If` as its list, whose condition name matches nothing).
fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Who makes a request: a function's role, the rules-admin role, or anyone else.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Principal {
    Ingest,
    Api,
    Sweep,
    RulesAdmin,
    Stranger,
}

impl Principal {
    /// The ARN as the template spells it.
    fn arn(self) -> &'static str {
        match self {
            Self::Ingest => "IngestRole.Arn",
            Self::Api => "ApiRole.Arn",
            Self::Sweep => "SweepRole.Arn",
            Self::RulesAdmin => "RulesAdminRoleArn",
            Self::Stranger => "arn:aws:iam::999999999999:role/someone",
        }
    }
}

/// One S3 request, with what the policy's conditions read from it.
#[derive(Clone, Debug)]
struct Request {
    principal: Principal,
    action: &'static str,
    key: &'static str,
    existing_status: Option<&'static str>,
    requested_status: Option<&'static str>,
    carries_tags: bool,
    if_none_match: bool,
}

fn request(principal: Principal, action: &'static str, key: &'static str) -> Request {
    Request {
        principal,
        action,
        key,
        existing_status: None,
        requested_status: None,
        carries_tags: false,
        if_none_match: false,
    }
}

impl Request {
    /// The condition key's value in this request, if it has one.
    fn value(&self, key: &str) -> Option<String> {
        match key {
            "aws:SecureTransport" => Some("true".to_owned()),
            "aws:PrincipalArn" => Some(self.principal.arn().to_owned()),
            "s3:ExistingObjectTag/airlock-status" => self.existing_status.map(str::to_owned),
            "s3:RequestObjectTag/airlock-status" => self.requested_status.map(str::to_owned),
            "s3:RequestObjectTagKeys" => self.carries_tags.then(|| "airlock-status".to_owned()),
            "s3:if-none-match" => self.if_none_match.then(|| "*".to_owned()),
            other => panic!("the policy reads {other}, which this evaluator does not model"),
        }
    }

    /// The statements (by Sid) that deny this request.
    fn denied_by(&self) -> Vec<String> {
        statements()
            .iter()
            .filter(|statement| statement["Effect"].as_str() == Some("Deny"))
            .filter(|statement| self.matches(statement))
            .map(|statement| statement["Sid"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn matches(&self, statement: &Yaml) -> bool {
        let action = strings(&statement["Action"])
            .iter()
            .any(|a| a == self.action || a == "s3:*");
        let resource = if statement["NotResource"].is_badvalue() {
            strings(&statement["Resource"])
                .iter()
                .any(|r| self.in_resource(r))
        } else {
            !strings(&statement["NotResource"])
                .iter()
                .any(|r| self.in_resource(r))
        };
        action && resource && self.meets(&statement["Condition"])
    }

    fn in_resource(&self, pattern: &str) -> bool {
        pattern
            .strip_prefix("${Bucket.Arn}/")
            .is_some_and(|object| match object.strip_suffix('*') {
                Some(prefix) => self.key.starts_with(prefix),
                None => self.key == object,
            })
    }

    fn meets(&self, condition: &Yaml) -> bool {
        let Some(operators) = condition.as_hash() else {
            return true;
        };
        operators.iter().all(|(operator, keys)| {
            keys.as_hash().unwrap().iter().all(|(key, values)| {
                let actual = self.value(key.as_str().unwrap());
                let values = strings(values);
                let equal = |v: &String| actual.as_deref() == Some(v.as_str());
                match operator.as_str().unwrap() {
                    "StringEquals" | "ArnEquals" | "Bool" => values.iter().any(equal),
                    "StringNotEquals" | "ArnNotEquals" => !values.iter().any(equal),
                    "Null" => (actual.is_none()).to_string() == values[0],
                    other => panic!("the policy uses {other}, which this evaluator does not model"),
                }
            })
        })
    }
}

fn assert_denied(request: Request, by: &str) {
    let denied = request.denied_by();
    assert!(
        denied.iter().any(|sid| sid == by),
        "{request:?} denied by {denied:?}, expected {by}"
    );
}

fn assert_not_denied(request: Request) {
    let denied = request.denied_by();
    assert!(denied.is_empty(), "{request:?} denied by {denied:?}");
}

#[test]
fn no_one_but_ingest_and_sweep_reads_an_upload_that_is_not_tagged_clean() {
    for action in ["s3:GetObject", "s3:GetObjectVersion"] {
        for status in [None, Some("PENDING"), Some("INFECTED"), Some("REJECTED")] {
            for reader in [Principal::Api, Principal::Stranger, Principal::RulesAdmin] {
                let mut read = request(reader, action, "uploads/acme/01J");
                read.existing_status = status;
                assert_denied(read, "DenyReadingUnverifiedObjects");
            }
        }
        let mut clean = request(Principal::Api, action, "uploads/acme/01J");
        clean.existing_status = Some("CLEAN");
        assert_not_denied(clean);
        assert_not_denied(request(Principal::Ingest, action, "uploads/acme/01J"));
    }
}

#[test]
fn sweep_may_tag_an_object_infected_and_nothing_else_and_no_other_role_may_tag() {
    for action in ["s3:PutObjectTagging", "s3:PutObjectVersionTagging"] {
        let mut infected = request(Principal::Sweep, action, "uploads/acme/01J");
        infected.requested_status = Some("INFECTED");
        assert_not_denied(infected);
        let mut clean = request(Principal::Sweep, action, "uploads/acme/01J");
        clean.requested_status = Some("CLEAN");
        assert_denied(clean, "DenySweepTaggingOtherThanInfected");
        let mut by_api = request(Principal::Api, action, "uploads/acme/01J");
        by_api.requested_status = Some("CLEAN");
        assert_denied(by_api, "DenyStatusTaggingExceptByIngest");
        let mut by_ingest = request(Principal::Ingest, action, "uploads/acme/01J");
        by_ingest.requested_status = Some("CLEAN");
        assert_not_denied(by_ingest);
    }
}

#[test]
fn an_upload_that_carries_tags_or_could_overwrite_is_refused() {
    let mut signed = request(Principal::Api, "s3:PutObject", "uploads/acme/01J");
    signed.if_none_match = true;
    assert_not_denied(signed.clone());
    let mut tagged = signed.clone();
    tagged.carries_tags = true;
    assert_denied(tagged, "DenyUploadsCarryingTags");
    let mut overwriting = signed;
    overwriting.if_none_match = false;
    assert_denied(overwriting, "DenyOverwritingUploads");
}

#[test]
fn only_the_rules_admin_writes_rules_and_the_functions_only_their_compiled_sets() {
    for action in ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"] {
        assert_not_denied(request(Principal::RulesAdmin, action, "rules/acme.yar"));
        for writer in [Principal::Api, Principal::Stranger] {
            assert_denied(
                request(writer, action, "rules/acme.yar"),
                "DenyRuleWritesExceptByRulesAdmin",
            );
        }
        for function in [Principal::Ingest, Principal::Sweep] {
            assert_denied(
                request(function, action, "rules/acme.yar"),
                "DenyFunctionWritesOutsideTheirPrefixes",
            );
            assert_not_denied(request(function, action, "rules/.compiled/0a1b2c"));
        }
    }
}
