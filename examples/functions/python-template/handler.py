#!/usr/bin/python3
"""Renders an HTML page with jinja2 from the JSON event (exec runtime, simple mode).

Event: {"title": str, "user": str, "items": [{"name": str, "price": number}, ...]}
Response body: the HTML page. A bad event exits 1 with the reason on stderr.
"""
import json
import os
import sys

import jinja2

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    try:
        event = json.load(sys.stdin)
    except ValueError as e:
        print(f"event is not JSON: {e}", file=sys.stderr)
        return 1
    if not isinstance(event, dict) or not isinstance(event.get("items", []), list):
        print("event must be an object with an `items` list", file=sys.stderr)
        return 1
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(HERE, "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    items = event.get("items", [])
    total = sum(float(i.get("price", 0)) for i in items)
    page = env.get_template("page.html").render(
        title=event.get("title", "Order"),
        user=event.get("user", "guest"),
        items=items,
        total=f"{total:.2f}",
    )
    sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
