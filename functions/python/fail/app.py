"""gw's failing handler: raises, to test how an unhandled exception maps to Lambda's error."""


def handler(event, context):
    qs = event.get("queryStringParameters") or {}
    name = qs.get("name") or "world"
    raise ValueError("bad input: " + name)
