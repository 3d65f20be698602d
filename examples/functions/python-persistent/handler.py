#!/usr/bin/python3
"""A persistent-mode fnjail handler: one Python process serves every invocation.

Frames on stdin and stdout are a 4-byte big-endian length and that many bytes
(docs/runtimes.md, "Exec, persistent mode"). Each invocation: read the context frame
(JSON) and the event frame; write the result frame (JSON) and the body frame. Log lines go
to stderr; stdout belongs to the protocol.
"""
import json
import struct
import sys

served = 0


def handler(event, ctx):
    global served
    served += 1
    if not isinstance(event, dict) or not isinstance(event.get("name", ""), str):
        raise ValueError("the event must be an object with a string `name`")
    print(f"greeting {event.get('name', 'world')}", file=sys.stderr, flush=True)
    body = {"message": f"hello, {event.get('name', 'world')}!",
            "request_id": ctx["request_id"], "served_by_this_process": served}
    return {"status": 200, "headers": {"content-type": "application/json"}}, json.dumps(body)


# The protocol loop: everything below is the ~20 lines any language needs.
def read_frame(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (size,) = struct.unpack(">I", header)
    data = stream.read(size)
    return data if len(data) == size else None


def write_frame(stream, data):
    stream.write(struct.pack(">I", len(data)) + data)


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        ctx, event = read_frame(stdin), read_frame(stdin)
        if ctx is None or event is None:
            return  # the runtime closed stdin: the environment is going away
        try:
            result, body = handler(json.loads(event or b"null"), json.loads(ctx))
        except Exception as error:  # a handled error: the process stays up
            result, body = {"status": 400, "error": {"type": type(error).__name__,
                                                     "message": str(error)}}, ""
        write_frame(stdout, json.dumps(result).encode())
        write_frame(stdout, body.encode())
        stdout.flush()


if __name__ == "__main__":
    main()
