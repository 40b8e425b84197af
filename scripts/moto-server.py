"""moto's server, with the one fix Airlock's tests need, so the emulator answers as S3.

moto 5.2.5 answers ListParts with a `<ListPartsResponse>` root element; S3 (and every
SDK's parser) uses `<ListPartsResult>`, so the Rust SDK refuses the answer. This
renames the root of that one answer and changes nothing else. Drop it once moto
answers with the right root (tests in crates/aws/tests/conformance.rs show it).
"""

import sys

from moto.core import serialize

_serialize = serialize.S3Serializer._serialized_result_to_response


def _list_parts_as_s3_names_it(self, resp, result, shape, serialized_result):
    resp = _serialize(self, resp, result, shape, serialized_result)
    if self.operation_model.name == "ListParts":
        body = resp["body"]
        resp["body"] = body.replace("<ListPartsResponse", "<ListPartsResult", 1).replace(
            "</ListPartsResponse>", "</ListPartsResult>", 1
        )
    return resp


serialize.S3Serializer._serialized_result_to_response = _list_parts_as_s3_names_it

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
