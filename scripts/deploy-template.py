"""Deploys infra/template.yaml into the AWS emulator's CloudFormation (moto, at
AWS_ENDPOINT_URL), as CloudFormation would deploy it after the SAM transform, and
prints what the deployed-template tests need as one JSON object.

moto's CloudFormation cannot create every resource of the template; those are
removed from this copy (never from infra/template.yaml), each with its reason, and
listed in the output under "stripped" (the tests say how each is checked instead).
Every resource left must be of a type moto creates: moto skips unknown types with a
warning only, which would make a resource vanish unseen, so this refuses them.

One substitution: the bucket's notification to ingest (which SAM writes as a
LambdaConfiguration) goes to a queue instead, with the same events and key filter,
because moto never invokes a Lambda function; the tests hand its messages to the
ingest binary as Lambda would. moto's CloudFormation does not apply a bucket's
NotificationConfiguration, so it is put on the bucket through S3 once the stack exists.

With --credentials (for an emulator that will enforce IAM), it also hands out
credentials: each function's role assumed through STS, and "driver", an IAM user
allowed everything, for the test's own set-up and reads.

Usage: python scripts/deploy-template.py STAGE [TEMPLATE] [--credentials]
Prints: {"stack", "stripped": {logical id: reason}, "resources": {logical id:
physical id}, "outputs": {...}, "functions": {logical id: {"role", "environment"}},
"uploads_queue_url", "credentials": {function logical id or "driver": {"AccessKeyId",
"SecretAccessKey", "SessionToken"}}}
"""

import argparse
import ast
import copy
import re

import io
import json
import os
import sys
import time
import zipfile

import boto3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sam = __import__("sam-transform")

# Types moto's CloudFormation cannot create, or creates with behaviour a test must
# not have (moto invokes a function through Docker when its event source fires).
STRIPPED_TYPES = {
    "AWS::ApiGatewayV2::Api": "moto's CloudFormation has no API Gateway v2 (HTTP API, JWT authorizer)",
    "AWS::ApiGatewayV2::Stage": "moto's CloudFormation has no API Gateway v2",
    "AWS::CloudWatch::Alarm": "moto's CloudFormation has no CloudWatch alarms",
    "AWS::S3::BucketPolicy": "moto's CloudFormation has no bucket policies (and moto's S3 applies a policy's Deny statements without their conditions); resolved by this script for the policy simulator instead",
    "AWS::Lambda::EventInvokeConfig": "moto's CloudFormation has no EventInvokeConfig (retries, on-failure destination)",
    "AWS::Lambda::EventSourceMapping": "moto would invoke the function through Docker for each record; the test reads the stream and queues as the mapping would",
    "AWS::SQS::QueuePolicy": "moto's CloudFormation has no SQS queue policies",
}

PARAMETERS = {
    "JwtIssuer": "https://issuer.example",
    "JwtAudience": "airlock",
}


def resource_types_moto_creates(types):
    from moto.cloudformation.parsing import resource_class_from_type

    return {t for t in types if resource_class_from_type(t) is not None}


def references(value):
    """Logical ids a template value refers to (Ref, GetAtt, Sub, DependsOn)."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found.update(
                    part.split("}")[0].split(".")[0] for part in text.split("${")[1:]
                )
                if isinstance(inner, list):
                    found.update(references(inner[1]))
            else:
                found.update(references(inner))
    elif isinstance(value, list):
        for inner in value:
            found.update(references(inner))
    return found


def strip(template):
    """Removes what moto cannot create and everything that refers to it."""
    resources = template["Resources"]
    stripped = {
        logical: STRIPPED_TYPES[r["Type"]]
        for logical, r in resources.items()
        if r["Type"] in STRIPPED_TYPES
    }
    changed = True
    while changed:
        changed = False
        for logical, resource in resources.items():
            if logical in stripped:
                continue
            gone = references(resource) & set(stripped)
            if gone:
                stripped[logical] = f"refers to {', '.join(sorted(gone))}, not created"
                changed = True
    for logical in stripped:
        del resources[logical]
    for name in [n for n, o in template.get("Outputs", {}).items() if references(o) & set(stripped)]:
        del template["Outputs"][name]
        stripped[f"Outputs.{name}"] = "refers to a resource not created"
    unknown = {r["Type"] for r in resources.values()} - resource_types_moto_creates(
        {r["Type"] for r in resources.values()}
    )
    if unknown:
        sys.exit(f"deploy-template: moto's CloudFormation would skip {sorted(unknown)}")
    return stripped


def notify_queue_instead_of_ingest(template):
    """Adds the queue that stands in for ingest, and takes the bucket's notifications
    out of the template (moto's CloudFormation does not apply them); returns them,
    for `notify` to put on the bucket once the stack exists."""
    bucket = template["Resources"]["Bucket"]["Properties"]
    lambdas = bucket.pop("NotificationConfiguration")["LambdaConfigurations"]
    template["Resources"]["UploadsNotificationQueue"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {},
    }
    # The bucket no longer waits on ingest's invoke permission.
    bucket_resource = template["Resources"]["Bucket"]
    depends = bucket_resource.get("DependsOn", [])
    depends = [depends] if isinstance(depends, str) else depends
    bucket_resource["DependsOn"] = [d for d in depends if "Permission" not in d]
    if not bucket_resource["DependsOn"]:
        del bucket_resource["DependsOn"]
    return lambdas


def notify(bucket, queue_url, lambdas):
    """The bucket's notifications to ingest, with the same events and key filters,
    sent to the queue instead."""
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    boto3.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": [notification["Event"]],
                    "Filter": {"Key": {"FilterRules": notification["Filter"]["S3Key"]["Rules"]}},
                }
                for notification in lambdas
            ]
        },
    )


# Types whose Ref moto cannot answer (it yields its model object, not the id); for
# each, the attribute CloudFormation's Ref returns, which moto does answer.
REF_AS_ATTRIBUTE = {"AWS::Events::EventBus": "Name"}


def refs_as_attributes(template, value=None):
    """Rewrites Ref to the types above as the equivalent Fn::GetAtt."""
    if value is None:
        for resource in template["Resources"].values():
            refs_as_attributes(template, resource)
        refs_as_attributes(template, template.get("Outputs", {}))
        return
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, inner in list(items):
        if isinstance(inner, dict) and set(inner) == {"Ref"}:
            target = template["Resources"].get(inner["Ref"], {})
            attribute = REF_AS_ATTRIBUTE.get(target.get("Type"))
            if attribute:
                value[key] = {"Fn::GetAtt": [inner["Ref"], attribute]}
                continue
        refs_as_attributes(template, inner)


def placeholder_code(s3, stage):
    """A code object the functions are created from (moto never runs it)."""
    bucket = f"airlock-code-{stage}"
    s3.create_bucket(Bucket=bucket)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\nexit 1\n")
    s3.put_object(Bucket=bucket, Key="code.zip", Body=archive.getvalue())
    return {"S3Bucket": bucket, "S3Key": "code.zip"}


def store_role_policies_as_json(role):
    """moto 5.2.5's CloudFormation stores a role's inline policies as Python text
    (str of a dict), which its authorizer cannot read (KeyError: every call refused);
    this puts the same documents back as JSON, through IAM's PutRolePolicy."""
    iam = boto3.client("iam")
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if isinstance(document, str):
            document = ast.literal_eval(document)
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def credentials(functions, stage):
    """Each function role's credentials, and the driver's."""
    sts = boto3.client("sts")
    handed_out = {}
    for logical, function in functions.items():
        store_role_policies_as_json(function["role"].split("/")[-1])
        assumed = sts.assume_role(RoleArn=function["role"], RoleSessionName=logical)
        handed_out[logical] = {
            k: assumed["Credentials"][k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")
        }
    iam = boto3.client("iam")
    driver = f"airlock-{stage}-driver"
    iam.create_user(UserName=driver)
    iam.put_user_policy(
        UserName=driver,
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=driver)["AccessKey"]
    handed_out["driver"] = {
        "AccessKeyId": key["AccessKeyId"],
        "SecretAccessKey": key["SecretAccessKey"],
        "SessionToken": "",
    }
    return handed_out


NO_VALUE = object()


class Resolver:
    """Resolves the intrinsic functions of a stripped resource's properties (the bucket
    policies, which moto's CloudFormation does not create) from what the stack
    created, as CloudFormation would have resolved them."""

    def __init__(self, template, parameters, resources):
        self.template = template
        self.parameters = {
            name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()
        } | parameters
        self.resources = resources
        region = boto3.session.Session().region_name
        self.pseudo = {
            "AWS::AccountId": boto3.client("sts").get_caller_identity()["Account"],
            "AWS::Region": region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.resources[name]

    def arn(self, logical):
        kind = self.template["Resources"][logical]["Type"]
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self.resources[logical]}"
        if kind == "AWS::IAM::Role":
            return boto3.client("iam").get_role(RoleName=self.resources[logical])["Role"]["Arn"]
        sys.exit(f"deploy-template: no ARN rule for {kind}")

    def lookup(self, name):
        logical, _, attribute = name.partition(".")
        return self.arn(logical) if attribute == "Arn" else self.ref(name)

    def condition(self, name):
        return self.truth(self.template["Conditions"][name])

    def truth(self, expression):
        (function, arguments), = expression.items()
        if function == "Fn::Not":
            return not self.truth(arguments[0])
        if function == "Fn::Equals":
            return str(self.resolve(arguments[0])) == str(self.resolve(arguments[1]))
        if function == "Condition":
            return self.condition(arguments)
        sys.exit(f"deploy-template: no rule for {function} in a condition")

    def resolve(self, value):
        if isinstance(value, list):
            resolved = [self.resolve(v) for v in value]
            return [v for v in resolved if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (function, arguments), = value.items()
            if function == "Ref":
                return self.ref(arguments)
            if function == "Fn::GetAtt":
                logical, attribute = arguments
                if attribute != "Arn":
                    sys.exit(f"deploy-template: no rule for Fn::GetAtt {attribute}")
                return self.arn(logical)
            if function == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self.lookup(m.group(1))), arguments)
            if function == "Fn::If":
                name, then, otherwise = arguments
                return self.resolve(then if self.condition(name) else otherwise)
        return {k: self.resolve(v) for k, v in value.items()}


def bucket_policies(source_template, stripped, resolver):
    """Each stripped bucket policy's document, resolved."""
    return {
        logical: resolver.resolve(resource["Properties"]["PolicyDocument"])
        for logical, resource in source_template["Resources"].items()
        if resource["Type"] == "AWS::S3::BucketPolicy" and logical in stripped
    }


def role_policies(functions):
    """Each function role's inline policy documents, as moto's IAM holds them."""
    iam = boto3.client("iam")
    documents = {}
    for logical, function in functions.items():
        role = function["role"].split("/")[-1]
        documents[logical] = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            documents[logical].append(ast.literal_eval(document) if isinstance(document, str) else document)
    return documents


def wait_for(cloudformation, stack):
    for _ in range(600):
        status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        if not status["StackStatus"].endswith("_IN_PROGRESS"):
            return status
        time.sleep(0.1)
    sys.exit(f"deploy-template: {stack} still in progress")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("stage")
    parser.add_argument("template", nargs="?", default="infra/template.yaml")
    parser.add_argument("--credentials", action="store_true")
    args = parser.parse_args()
    stage, source = args.stage, args.template
    transformed = sam.sam_transform(source)
    template = copy.deepcopy(transformed)
    stripped = strip(template)
    notifications = notify_queue_instead_of_ingest(template)
    refs_as_attributes(template)
    s3 = boto3.client("s3")
    code = placeholder_code(s3, stage)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Code"] = code

    cloudformation = boto3.client("cloudformation")
    stack = f"airlock-{stage}"
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "StageName", "ParameterValue": stage},
            *({"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()),
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    status = wait_for(cloudformation, stack)
    if status["StackStatus"] != "CREATE_COMPLETE":
        sys.exit(f"deploy-template: {stack} {status['StackStatus']}: {status.get('StackStatusReason')}")
    resources = {
        r["LogicalResourceId"]: r.get("PhysicalResourceId")
        for r in cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    }
    missing = set(template["Resources"]) - set(resources)
    if missing:
        sys.exit(f"deploy-template: moto did not create {sorted(missing)}")
    notify(resources["Bucket"], resources["UploadsNotificationQueue"], notifications)
    parameters = {"StageName": stage, **PARAMETERS}
    policies = bucket_policies(transformed, stripped, Resolver(transformed, parameters, resources))
    # ListFunctions, not GetFunctionConfiguration: moto 5.2.5 leaves the environment
    # out of the latter's answer.
    by_name = {
        f["FunctionName"]: f for f in boto3.client("lambda").list_functions()["Functions"]
    }
    functions = {}
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            config = by_name[resources[logical]]
            functions[logical] = {
                "role": config["Role"],
                # Lambda holds every value as a string; moto keeps Number parameters
                # as numbers.
                "environment": {
                    k: str(v) for k, v in config.get("Environment", {}).get("Variables", {}).items()
                },
            }
    json.dump(
        {
            "stack": status["StackId"],
            "stripped": stripped,
            "resources": resources,
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in status.get("Outputs", [])},
            "functions": functions,
            "uploads_queue_url": resources["UploadsNotificationQueue"],
            "bucket_policies": policies,
            "role_policies": role_policies(functions),
            "credentials": credentials(functions, stage) if args.credentials else {},
        },
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()
