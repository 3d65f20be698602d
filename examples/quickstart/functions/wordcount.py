#!/usr/bin/python3
"""The quick start's `wordcount` function (exec runtime, simple mode).

Reads the event from stdin, a JSON object such as {"text": "to be or not to be"}, and
writes the result to stdout as JSON: the number of lines and words and the most common
words. The invocation context (request id, principal) is the JSON in $FNJAIL_CONTEXT.
A bad event is reported on stderr with exit status 1, which the caller sees as an error.
"""
import collections
import json
import os
import re
import sys


def main() -> int:
    try:
        event = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        print(f"the event is not JSON: {e}", file=sys.stderr)
        return 1
    if not isinstance(event, dict) or not isinstance(event.get("text"), str):
        print('the event must be an object with a string "text"', file=sys.stderr)
        return 1
    text = event["text"]
    words = re.findall(r"[a-z0-9']+", text.lower())
    top = collections.Counter(words).most_common(5)
    context = json.loads(os.environ.get("FNJAIL_CONTEXT", "{}"))
    json.dump(
        {
            "lines": len(text.splitlines()),
            "words": len(words),
            "top": [{"word": w, "count": n} for w, n in top],
            "principal": context.get("principal", {}).get("id", ""),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
