#!/usr/bin/python3
"""Compresses a folder into a zip archive in /tmp and checks it (exec runtime, simple mode).

Event: {"folder": a folder below this function's own (default "sample")}
Response body: {"files": [{"name", "size", "crc32"}...], "bytes_in", "bytes_out",
"ratio", "verified"} as JSON; the archive stays in the jail's /tmp. A bad event exits 1
with the reason on stderr.
"""
import json
import os
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print(message, file=sys.stderr)
    return 1


def main():
    try:
        event = json.load(sys.stdin)
    except ValueError as e:
        return fail(f"event is not JSON: {e}")
    folder = event.get("folder", "sample") if isinstance(event, dict) else None
    if not isinstance(folder, str) or not folder:
        return fail("`folder` must be a non-empty string")
    root = os.path.realpath(os.path.join(HERE, folder))
    if os.path.commonpath([root, HERE]) != HERE or not os.path.isdir(root):
        return fail(f"`{folder}` is not a folder of this function")

    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            names.append((path, os.path.relpath(path, root)))
    bytes_in = 0
    fd, archive = tempfile.mkstemp(suffix=".zip", dir="/tmp")
    os.close(fd)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=9) as z:
        for path, arcname in names:
            z.write(path, arcname)
            bytes_in += os.path.getsize(path)
    with zipfile.ZipFile(archive) as z:
        verified = z.testzip() is None
        files = [{"name": i.filename, "size": i.file_size, "crc32": f"{i.CRC:08x}"}
                 for i in z.infolist()]
    bytes_out = os.path.getsize(archive)
    json.dump({"files": files, "bytes_in": bytes_in, "bytes_out": bytes_out,
               "ratio": round(bytes_out / bytes_in, 3) if bytes_in else 0,
               "verified": verified}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
