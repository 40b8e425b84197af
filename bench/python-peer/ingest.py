"""The Python peer of Airlock's ingest function, for `make bench` only.

Written the way a team would write it today: boto3 clients built at import (once per
cold start), the object streamed in 1 MiB chunks through hashlib's SHA-256, the first
8 KiB sniffed by `filetype`, then the same four calls the Rust function makes: read
the record, stream the object, a conditional write of the verdict, tag the object.
It reads and writes the Rust function's item layout (see crates/domain/src/item.rs),
so both run against the same table, but it judges only size and type.
"""

import datetime
import hashlib
import json
import os
import urllib.parse

import boto3
import filetype
from botocore.exceptions import ClientError

TABLE = os.environ["AIRLOCK_TABLE"]
BUCKET = os.environ["AIRLOCK_BUCKET"]
MAX_BYTES = int(os.environ.get("AIRLOCK_MAX_UPLOAD_BYTES", str(1 << 30)))
CHUNK = 1 << 20
SNIFF = 8192

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")


def handler(event, context):
    # awslambdaric hands over the raw body when the Runtime API's answer has no JSON
    # content type (the project's emulator sends none).
    if isinstance(event, (bytes, str)):
        event = json.loads(event)
    return {"records": [handle_record(r) for r in event.get("Records", [])]}


def handle_record(record):
    raw_key = record["s3"]["object"]["key"]
    if not record.get("eventName", "").startswith("ObjectCreated:"):
        return {"outcome": "skipped", "key": raw_key}
    key = urllib.parse.unquote_plus(raw_key)
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "uploads":
        return {"outcome": "skipped", "key": raw_key}
    _, tenant, file_id = parts
    item_key = {"pk": {"S": f"TENANT#{tenant}"}, "sk": {"S": f"FILE#{file_id}"}}
    item = dynamodb.get_item(TableName=TABLE, Key=item_key, ConsistentRead=True).get("Item")
    if item is None or item["status"]["S"] != "PENDING":
        return {"outcome": "skipped", "key": key}

    digest, size, head = hashlib.sha256(), 0, b""
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
    for chunk in body.iter_chunks(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if len(head) < SNIFF:
            head += chunk[: SNIFF - len(head)]
    detected = filetype.guess_mime(head) or "application/octet-stream"
    declared_type = item["declared_type"]["S"]
    declared_size = int(item["declared_size"]["N"])
    clean = 0 < size <= MAX_BYTES and size == declared_size and detected == declared_type
    status = "CLEAN" if clean else "REJECTED"

    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    try:
        dynamodb.update_item(
            TableName=TABLE,
            Key=item_key,
            UpdateExpression="SET #s = :s, status_pk = :spk, sha256 = :h, detected_type = :t, updated_at = :now",
            ConditionExpression="#s = :pending",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":s": {"S": status},
                ":spk": {"S": f"TENANT#{tenant}#{status}"},
                ":h": {"S": digest.hexdigest()},
                ":t": {"S": detected},
                ":now": {"S": now},
                ":pending": {"S": "PENDING"},
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return {"outcome": "already_decided", "key": key}
    s3.put_object_tagging(
        Bucket=BUCKET,
        Key=key,
        Tagging={"TagSet": [{"Key": "airlock-status", "Value": status}]},
    )
    return {"outcome": "decided", "key": key, "status": status, "sha256": digest.hexdigest()}
