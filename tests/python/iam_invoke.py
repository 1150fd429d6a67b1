"""Call an AWS_IAM method of gw's data plane as an IAM-authenticated client does: the request
signed by botocore's SigV4Auth for the service `execute-api`, sent with urllib.

Run by tests/it/management.rs as `.venv/bin/python tests/python/iam_invoke.py URL ACCESS_KEY SECRET`;
prints one line per call: `STATUS BODY`.
"""

import sys
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, access_key, secret = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, body, credentials):
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    if credentials is not None:
        SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(request)
    prepared = request.prepare()
    out = urllib.request.Request(prepared.url, data=prepared.body, method=method, headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(out) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


for method, body, credentials in [
    ("POST", b'{"name": "Rex"}', Credentials(access_key, secret)),
    ("GET", None, Credentials(access_key, secret)),
    ("POST", b'{"name": "Rex"}', Credentials(access_key, "wrong-secret")),
    ("POST", b'{"name": "Rex"}', Credentials("someone-else", secret)),
    ("POST", b'{"name": "Rex"}', None),
]:
    status, text = call(method, body, credentials)
    print(status, text.replace("\n", " "))
