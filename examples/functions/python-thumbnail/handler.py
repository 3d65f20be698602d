#!/usr/bin/python3
"""Makes a thumbnail of an image with Pillow (exec runtime, simple mode).

Event: {"image": base64 of a PNG/JPEG/GIF, "max_size": pixels of the longer side (1..1024,
default 128), "format": "PNG" | "JPEG" (default PNG)}
Response body: {"source": {"width", "height", "format"}, "thumbnail": {"width", "height",
"format", "bytes", "data": base64}} as JSON. A bad event exits 1 with the reason on stderr.
"""
import base64
import binascii
import io
import json
import sys

from PIL import Image

MAX_INPUT_PIXELS = 4096 * 4096  # refuse decompression bombs before decoding


def fail(message):
    print(message, file=sys.stderr)
    return 1


def main():
    try:
        event = json.load(sys.stdin)
        raw = base64.b64decode(event["image"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as e:
        return fail(f"event needs `image`, base64 of an image: {e}")
    max_size = event.get("max_size", 128)
    fmt = event.get("format", "PNG")
    if not isinstance(max_size, int) or not 1 <= max_size <= 1024:
        return fail("`max_size` must be an integer from 1 to 1024")
    if fmt not in ("PNG", "JPEG"):
        return fail("`format` must be PNG or JPEG")
    Image.MAX_IMAGE_PIXELS = MAX_INPUT_PIXELS
    try:
        image = Image.open(io.BytesIO(raw))
        source = {"width": image.width, "height": image.height, "format": image.format}
        image.thumbnail((max_size, max_size))
        if fmt == "JPEG" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, format=fmt)
    except (OSError, Image.DecompressionBombError) as e:
        return fail(f"cannot read the image: {e}")
    data = out.getvalue()
    json.dump({"source": source,
               "thumbnail": {"width": image.width, "height": image.height, "format": fmt,
                             "bytes": len(data), "data": base64.b64encode(data).decode()}},
              sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
