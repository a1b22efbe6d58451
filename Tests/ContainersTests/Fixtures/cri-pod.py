#!/usr/bin/python3
"""Runs a Kubernetes-style pod with one container through containerd's CRI socket (there is no
crictl package in Debian), and removes it again. Used by ContainersTests' live tests and to capture
the containerd fixtures beside this file.

    cri-pod.py SOCKET run POD NAMESPACE UID CONTAINER IMAGE [--label K=V]... [--cgroup-parent P] -- CMD...
        prints "SANDBOX_ID CONTAINER_ID"
    cri-pod.py SOCKET remove SANDBOX_ID

The pod uses the host network (no CNI here). The pod gets the annotation sonde.test/pod-annotation,
the container the label sonde.test/container-label and the annotation sonde.test/container-annotation.
Messages are protobuf encoded by hand with runtime.v1 field numbers, so python3-grpcio is all it needs.
"""
import sys

import grpc

NAMESPACE_CONTAINER, NAMESPACE_NODE = 1, 2  # runtime.v1 NamespaceMode


def varint(n):
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(number, text):
    data = text.encode()
    return varint(number << 3 | 2) + varint(len(data)) + data


def message(number, body):
    return varint(number << 3 | 2) + varint(len(body)) + body


def uint(number, value):
    return varint(number << 3) + varint(value)


def string_map(number, pairs):
    return b"".join(message(number, string(1, k) + string(2, v)) for k, v in pairs.items())


def first_string(data):
    """Field 1 of a response: every response used here carries its id there."""
    if not data or data[0] != (1 << 3 | 2):
        raise SystemExit(f"unexpected CRI response {data!r}")
    length, shift, i = 0, 0, 1
    while True:
        byte = data[i]
        i += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return data[i:i + length].decode()


def call(channel, method, body):
    rpc = channel.unary_unary(f"/runtime.v1.RuntimeService/{method}",
                              request_serializer=lambda b: b, response_deserializer=lambda b: b)
    return rpc(body, timeout=60)


def run(channel, args):
    pod, namespace, uid, container_name, image = args[:5]
    rest = args[5:]
    labels, cgroup_parent, command = {}, "", []
    while rest:
        arg = rest.pop(0)
        if arg == "--label":
            key, _, value = rest.pop(0).partition("=")
            labels[key] = value
        elif arg == "--cgroup-parent":
            cgroup_parent = rest.pop(0)
        elif arg == "--":
            command = rest
            break
        else:
            raise SystemExit(f"unknown argument {arg}")
    # Host network, own pid namespace; no hostname: the host's UTS namespace is shared then.
    namespaces = uint(1, NAMESPACE_NODE) + uint(2, NAMESPACE_CONTAINER)
    linux = (string(1, cgroup_parent) if cgroup_parent else b"") + message(2, message(1, namespaces))
    sandbox = (message(1, string(1, pod) + string(2, uid) + string(3, namespace))
               + string_map(6, labels)
               + string_map(7, {"sonde.test/pod-annotation": "yes"})
               + message(8, linux))
    sandbox_id = first_string(call(channel, "RunPodSandbox", message(1, sandbox)))
    config = (message(1, string(1, container_name)) + message(2, string(1, image))
              + b"".join(string(3, part) for part in command)
              + string_map(9, {"sonde.test/container-label": "yes"})
              + string_map(10, {"sonde.test/container-annotation": "yes"})
              + message(15, message(2, message(3, namespaces))))
    request = string(1, sandbox_id) + message(2, config) + message(3, sandbox)
    container_id = first_string(call(channel, "CreateContainer", request))
    call(channel, "StartContainer", string(1, container_id))
    print(sandbox_id, container_id)


def main():
    if len(sys.argv) < 4 or sys.argv[2] not in ("run", "remove"):
        raise SystemExit(__doc__)
    channel = grpc.insecure_channel(f"unix://{sys.argv[1]}")
    if sys.argv[2] == "remove":
        call(channel, "StopPodSandbox", string(1, sys.argv[3]))
        call(channel, "RemovePodSandbox", string(1, sys.argv[3]))
    else:
        run(channel, sys.argv[3:])


main()
