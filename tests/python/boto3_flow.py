"""Drive gw's management API with real boto3: the deploy / canary / promote flow, and the error
(code, message) botocore reports for each operation's failure cases.

Run by tests/it/management.rs as `.venv/bin/python tests/python/boto3_flow.py ENDPOINT SPEC`;
exits non-zero (with the failing assertion) on any mismatch, prints "ok" at the end.
"""

import json
import sys

import boto3
import botocore.config
from botocore.exceptions import ClientError

endpoint, spec_path = sys.argv[1], sys.argv[2]

client = boto3.client(
    "apigateway",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=botocore.config.Config(retries={"max_attempts": 1}),
)


def fails(code, message, fn, *args, **kwargs):
    """Call fn(*args, **kwargs), expect a ClientError with exactly this code and message."""
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        err = e.response["Error"]
        assert err["Code"] == code, f"{fn.__name__}: code {err['Code']!r} != {code!r} ({err})"
        assert err["Message"] == message, (
            f"{fn.__name__}: message {err['Message']!r} != {message!r}"
        )
        return e
    raise AssertionError(f"{fn.__name__}({kwargs}) should have failed with {code}")


INVALID_PATH = (
    "Invalid method setting path: /nope. Must be one of: [/deploymentId, /description, "
    "/cacheClusterEnabled, /cacheClusterSize, /clientCertificateId, /accessLogSettings, "
    "/accessLogSettings/destinationArn, /accessLogSettings/format, "
    "/{resourcePath}/{httpMethod}/metrics/enabled, /{resourcePath}/{httpMethod}/logging/dataTrace, "
    "/{resourcePath}/{httpMethod}/logging/loglevel, "
    "/{resourcePath}/{httpMethod}/throttling/burstLimit/{resourcePath}/{httpMethod}/throttling/rateLimit"
    "/{resourcePath}/{httpMethod}/caching/ttlInSeconds, /{resourcePath}/{httpMethod}/caching/enabled, "
    "/{resourcePath}/{httpMethod}/caching/dataEncrypted, "
    "/{resourcePath}/{httpMethod}/caching/requireAuthorizationForCacheControl, "
    "/{resourcePath}/{httpMethod}/caching/unauthorizedCacheControlHeaderStrategy, "
    "/*/*/metrics/enabled, /*/*/logging/dataTrace, /*/*/logging/loglevel, "
    "/*/*/throttling/burstLimit /*/*/throttling/rateLimit /*/*/caching/ttlInSeconds, "
    "/*/*/caching/enabled, /*/*/caching/dataEncrypted, "
    "/*/*/caching/requireAuthorizationForCacheControl, "
    "/*/*/caching/unauthorizedCacheControlHeaderStrategy, /variables/{variable_name}, /tracingEnabled]"
)

# ---- REST APIs ----
with open(spec_path, "rb") as f:
    spec = f.read()
api = client.import_rest_api(body=spec, parameters={"endpointConfigurationTypes": "REGIONAL"})
assert api["ResponseMetadata"]["HTTPStatusCode"] == 201
api_id = api["id"]
assert api["name"] == "petstore"
assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
assert api["createdDate"].year >= 2020, api["createdDate"]  # epoch seconds parsed as a datetime

empty = client.create_rest_api(name="empty-api", description="nothing yet")
assert empty["ResponseMetadata"]["HTTPStatusCode"] == 201
assert empty["rootResourceId"]

apis = client.get_rest_apis()["items"]
assert {a["id"] for a in apis} == {api_id, empty["id"]}, apis
page1 = client.get_rest_apis(limit=1)
assert len(page1["items"]) == 1 and page1["position"], page1
page2 = client.get_rest_apis(limit=1, position=page1["position"])
assert len(page2["items"]) == 1 and "position" not in page2, page2
paged = [a["id"] for p in client.get_paginator("get_rest_apis").paginate(PaginationConfig={"PageSize": 1}) for a in p["items"]]
assert sorted(paged) == sorted([api_id, empty["id"]]), paged

assert client.get_rest_api(restApiId=api_id)["name"] == "petstore"
fails("NotFoundException", "Invalid API identifier specified 000000000000:nope1", client.get_rest_api, restApiId="nope1")
fails("NotFoundException", "Invalid API identifier specified 000000000000:nope2", client.delete_rest_api, restApiId="nope2")
fails("NotFoundException", "Invalid API identifier specified 000000000000:nope3", client.get_resources, restApiId="nope3")

# ---- PutRestApi (merge, overwrite) and UpdateRestApi on the empty API ----
extra = json.dumps({
    "openapi": "3.0.1", "info": {"title": "ignored on put", "version": "2"},
    "paths": {"/health": {"get": {
        "responses": {"200": {"description": "ok"}},
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
                                             "responses": {"default": {"statusCode": "200"}}}}}},
}).encode()
merged = client.put_rest_api(restApiId=empty["id"], body=extra)
assert merged["ResponseMetadata"]["HTTPStatusCode"] == 200 and merged["name"] == "empty-api", merged
paths = {r["path"] for r in client.get_resources(restApiId=empty["id"])["items"]}
assert paths == {"/", "/health"}, paths
client.put_rest_api(restApiId=empty["id"], body=extra, mode="overwrite")
fails("NotFoundException", "Invalid API identifier specified 000000000000:nope4", client.put_rest_api, restApiId="nope4", body=extra)
renamed = client.update_rest_api(restApiId=empty["id"], patchOperations=[
    {"op": "replace", "path": "/name", "value": "health-api"},
    {"op": "replace", "path": "/description", "value": "health only"},
    {"op": "add", "path": "/binaryMediaTypes/image~1png"},
])
assert renamed["name"] == "health-api" and renamed["description"] == "health only", renamed
assert renamed["binaryMediaTypes"] == ["image/png"], renamed
fails("BadRequestException", "Invalid patch path /nope", client.update_rest_api, restApiId=empty["id"],
      patchOperations=[{"op": "replace", "path": "/nope", "value": "x"}])

# ---- resources, methods, integrations ----
resources = client.get_resources(restApiId=api_id, embed=["methods"])["items"]
by_path = {r["path"]: r for r in resources}
assert set(by_path) >= {"/", "/pets", "/pets/{petId}"}, by_path.keys()
get_pets = by_path["/pets"]["resourceMethods"]["GET"]
assert get_pets["methodIntegration"]["type"] == "HTTP_PROXY"
assert get_pets["methodIntegration"]["uri"] == "http://${stageVariables.backend}/${stageVariables.version}/pets"
plain = client.get_resources(restApiId=api_id)["items"]
assert {r["path"]: r for r in plain}["/pets"]["resourceMethods"]["GET"] == {}
pet = by_path["/pets/{petId}"]
m = client.get_method(restApiId=api_id, resourceId=pet["id"], httpMethod="GET")
assert m["requestParameters"]["method.request.path.petId"] is True, m
i = client.get_integration(restApiId=api_id, resourceId=pet["id"], httpMethod="GET")
assert i["requestParameters"]["integration.request.path.id"] == "method.request.path.petId", i
fails("NotFoundException", "Invalid Resource identifier specified", client.get_resource, restApiId=api_id, resourceId="nope")
fails("NotFoundException", "Invalid Method identifier specified", client.get_method, restApiId=api_id, resourceId=pet["id"], httpMethod="DELETE")
fails("NotFoundException", "Invalid Method identifier specified", client.get_integration, restApiId=api_id, resourceId=pet["id"], httpMethod="PATCH")

# ---- deployments and stages ----
bare = client.create_rest_api(name="bare-api")
fails("BadRequestException", "The REST API doesn't contain any methods", client.create_deployment, restApiId=bare["id"])
client.delete_rest_api(restApiId=bare["id"])
d1 = client.create_deployment(restApiId=api_id, description="v1")
assert d1["ResponseMetadata"]["HTTPStatusCode"] == 201 and d1["description"] == "v1"
stage = client.create_stage(
    restApiId=api_id, stageName="prod", deploymentId=d1["id"],
    variables={"backend": "localhost:1", "version": "v1", "keep": "yes"},
)
assert stage["ResponseMetadata"]["HTTPStatusCode"] == 201
assert stage["cacheClusterEnabled"] is False and stage["cacheClusterStatus"] == "NOT_AVAILABLE"
assert stage["methodSettings"] == {} and stage["tracingEnabled"] is False
assert "canarySettings" not in stage
fails("ConflictException", "Stage already exists", client.create_stage, restApiId=api_id, stageName="prod", deploymentId=d1["id"])
fails("BadRequestException", "Deployment id does not exist", client.create_stage,
      restApiId=api_id, stageName="other", deploymentId=d1["id"], canarySettings={"deploymentId": "nope", "percentTraffic": 5})
fails("NotFoundException", "Invalid Deployment identifier specified", client.create_stage,
      restApiId=api_id, stageName="other", deploymentId="nope")
fails("NotFoundException", "Invalid Stage identifier specified", client.get_stage, restApiId=api_id, stageName="nope")
fails("NotFoundException", "Invalid Stage identifier specified", client.delete_stage, restApiId=api_id, stageName="nope")
fails("NotFoundException", "Invalid Deployment identifier specified", client.get_deployment, restApiId=api_id, deploymentId="nope")

# canary deployment: stage must exist, stageName required
fails("BadRequestException",
      "Invalid deployment content specified.Non null and non empty stageName must be provided for canary deployment. Provided value is null",
      client.create_deployment, restApiId=api_id, canarySettings={"percentTraffic": 10})
fails("BadRequestException",
      "Invalid deployment content specified.Stage missing must already be created before making a canary release deployment",
      client.create_deployment, restApiId=api_id, stageName="missing", canarySettings={"percentTraffic": 10})
d2 = client.create_deployment(
    restApiId=api_id, stageName="prod", description="v2",
    canarySettings={"percentTraffic": 10.0, "stageVariableOverrides": {"version": "v2"}},
)
s = client.get_stage(restApiId=api_id, stageName="prod")
assert s["deploymentId"] == d1["id"], "a canary deployment leaves production alone"
assert s["canarySettings"] == {
    "deploymentId": d2["id"], "percentTraffic": 10.0,
    "stageVariableOverrides": {"version": "v2"}, "useStageCache": False,
}, s["canarySettings"]

# deleting a deployment a stage (or its canary) uses
fails("BadRequestException", "Active stages pointing to this deployment must be moved or deleted",
      client.delete_deployment, restApiId=api_id, deploymentId=d1["id"])
fails("BadRequestException", "Active stages pointing to this deployment must be moved or deleted",
      client.delete_deployment, restApiId=api_id, deploymentId=d2["id"])

# ---- UpdateStage ----
def patch(*ops, stage_name="prod"):
    return client.update_stage(restApiId=api_id, stageName=stage_name, patchOperations=list(ops))

s = patch({"op": "replace", "path": "/canarySettings/percentTraffic", "value": "25.5"},
          {"op": "replace", "path": "/description", "value": "production"},
          {"op": "replace", "path": "/variables/extra", "value": "1"})
assert s["canarySettings"]["percentTraffic"] == 25.5 and s["description"] == "production"
assert s["variables"]["extra"] == "1"
fails("BadRequestException", INVALID_PATH, patch, {"op": "replace", "path": "/nope", "value": "x"})
fails("BadRequestException", "Invalid add operation with path: /canarySettings/deploymentId",
      patch, {"op": "add", "path": "/canarySettings/deploymentId", "value": d1["id"]})
fails("BadRequestException",
      "Cannot remove method setting canarySettings/stageVariableOverrides because there is no method setting for this method ",
      patch, {"op": "remove", "path": "/canarySettings/stageVariableOverrides"})
fails("BadRequestException", "Deployment id does not exist", patch, {"op": "replace", "path": "/deploymentId", "value": "nope"})
fails("BadRequestException",
      "Invalid copy operation with path: /canarySettings/stageVariableOverrides and from /variables. Valid copy:path are [/deploymentId, /variables] and valid copy:from are [/canarySettings/deploymentId, /canarySettings/stageVariableOverrides]",
      patch, {"op": "copy", "from": "/variables", "path": "/canarySettings/stageVariableOverrides"})
fails("NotFoundException", "Invalid Stage identifier specified", patch, {"op": "replace", "path": "/description", "value": "x"}, stage_name="nope")
# all-or-nothing: the failing third op undoes the first two
fails("BadRequestException", "Deployment id does not exist", patch,
      {"op": "replace", "path": "/description", "value": "changed"},
      {"op": "remove", "path": "/canarySettings"},
      {"op": "replace", "path": "/deploymentId", "value": "nope"})
s = client.get_stage(restApiId=api_id, stageName="prod")
assert s["description"] == "production" and s["canarySettings"]["percentTraffic"] == 25.5, s

# promotion: the three operations, then remove the canary
s = patch({"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
          {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
          {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"})
assert s["deploymentId"] == d2["id"]
assert s["variables"] == {"backend": "localhost:1", "version": "v2", "keep": "yes", "extra": "1"}, s["variables"]
assert s["canarySettings"]["percentTraffic"] == 0.0, "promotion keeps the canary"
s = patch({"op": "remove", "path": "/canarySettings"})
assert "canarySettings" not in s and s["deploymentId"] == d2["id"]
fails("BadRequestException", "Promotion not available. Canary does not exist.", patch,
      {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"})

# ---- listings, export, deletes ----
stages = client.get_stages(restApiId=api_id)["item"]
assert [x["stageName"] for x in stages] == ["prod"], stages
deployments = client.get_deployments(restApiId=api_id)["items"]
assert {d["id"] for d in deployments} == {d1["id"], d2["id"]}, deployments
summary = client.get_deployment(restApiId=api_id, deploymentId=d2["id"], embed=["apisummary"])["apiSummary"]
assert summary["/pets"]["GET"] == {"authorizationType": "NONE", "apiKeyRequired": False}, summary

exported = client.get_export(restApiId=api_id, stageName="prod", exportType="oas30",
                             parameters={"extensions": "integrations"}, accepts="application/json")
assert exported["contentType"] == "application/json"
doc = json.loads(exported["body"].read())
assert doc["openapi"] == "3.0.1" and doc["info"]["title"] == "petstore"
assert doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["type"] == "http_proxy", doc
swagger = client.get_export(restApiId=api_id, stageName="prod", exportType="swagger", accepts="application/yaml")
assert swagger["contentType"] == "application/yaml"
text = swagger["body"].read().decode()
assert "swagger: '2.0'" in text or 'swagger: "2.0"' in text, text[:200]
assert "x-amazon-apigateway-integration" not in text, "extensions only when asked for"
fails("NotFoundException", "Invalid Stage identifier specified", client.get_export,
      restApiId=api_id, stageName="nope", exportType="oas30")

assert client.delete_deployment(restApiId=api_id, deploymentId=d1["id"])["ResponseMetadata"]["HTTPStatusCode"] == 202
assert client.delete_stage(restApiId=api_id, stageName="prod")["ResponseMetadata"]["HTTPStatusCode"] == 202
assert client.get_stages(restApiId=api_id)["item"] == []
assert client.delete_rest_api(restApiId=api_id)["ResponseMetadata"]["HTTPStatusCode"] == 202
assert client.delete_rest_api(restApiId=empty["id"])["ResponseMetadata"]["HTTPStatusCode"] == 202
assert client.get_rest_apis()["items"] == []
print("ok")
