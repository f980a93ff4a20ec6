"""List a gRPC server's services and their methods through server reflection, the way generic
tools do: `grpcio-reflection`'s ProtoReflectionDescriptorDatabase, which speaks
`grpc.reflection.v1alpha`, feeding a protobuf DescriptorPool.

Output: one JSON object, {"services": {name: [method, ...]}, "messages": {method: [input,
output]}} for every service the server lists.
"""

import argparse
import json
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True, help="host:port")
    args = parser.parse_args()
    with grpc.insecure_channel(args.endpoint) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = DescriptorPool(database)
        services = {}
        messages = {}
        for name in database.get_services():
            if name.startswith("grpc.reflection."):
                # Reflection describes itself only in some servers; not what we check.
                continue
            service = pool.FindServiceByName(name)
            services[name] = [m.name for m in service.methods]
            for m in service.methods:
                messages[f"{name}/{m.name}"] = [m.input_type.full_name, m.output_type.full_name]
    print(json.dumps({"services": services, "messages": messages}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
