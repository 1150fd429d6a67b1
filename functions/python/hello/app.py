"""gw's hello handler, Python twin of functions/lambda-hello (Rust) and functions/javascript/hello.

Its response body must match theirs byte for byte: keep the keys, their order and the compact
separators as they are.
"""

import json
import time

COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    qs = event.get("queryStringParameters") or {}
    name = qs.get("name") or "world"
    # ?waitMs=N: wait N ms between the two readings of the time remaining.
    wait = int(qs.get("waitMs") or 0)
    r1 = context.get_remaining_time_in_millis()
    if wait > 0:
        time.sleep(wait / 1000)
    r2 = context.get_remaining_time_in_millis()
    rc = event.get("requestContext") or {}
    body = {
        "message": f"Hello, {name}!",
        "eventKeys": sorted(event.keys()),
        "requestContextKeys": sorted(rc.keys()),
        "functionName": context.function_name,
        "requestId": context.aws_request_id,
        "remainingMs": [r1, r2],
    }
    return {
        "statusCode": 200,
        "headers": {
            "content-type": "application/json",
            "x-count": str(COUNT),
            "x-language": "python",
        },
        "body": json.dumps(body, separators=(",", ":")),
    }
