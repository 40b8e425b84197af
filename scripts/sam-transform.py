"""The SAM transform of a template, offline, as CloudFormation runs it at deployment.

Local CodeUri values become a placeholder S3 object, as `sam package` would make
them. Resource Metadata is passed through, so cfn-lint suppressions on a SAM resource
also cover the resources generated from it. Needs a region in the environment (the
translator asks for the partition), and no AWS credentials.

Usage: python scripts/sam-transform.py TEMPLATE OUTPUT.json
Also imported by scripts/deploy-template.py.
"""

import json
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

PLACEHOLDER_CODE = "s3://placeholder-bucket/placeholder-key"


class NoManagedPolicies:
    # Only asked about managed policy names in a function's Policies (which would
    # need IAM); the template has none.
    def load(self):
        return {}


def _package(properties):
    uri = properties.get("CodeUri")
    if isinstance(uri, str) and not uri.startswith("s3://"):
        properties["CodeUri"] = PLACEHOLDER_CODE


def sam_transform(source):
    """The transformed template, as a dict; exits naming the causes if SAM refuses it."""
    with open(source) as f:
        template = yaml_parse(f.read())
    _package(template.get("Globals", {}).get("Function", {}))
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            _package(resource.get("Properties", {}))
    try:
        return transform(template, {}, NoManagedPolicies(), passthrough_metadata=True)
    except InvalidDocumentException as e:
        sys.exit("\n".join(f"SAM transform: {cause.message}" for cause in e.causes))


if __name__ == "__main__":
    source, target = sys.argv[1:]
    with open(target, "w") as f:
        json.dump(sam_transform(source), f, indent=1)
