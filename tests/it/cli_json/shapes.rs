//! The JSON and table shapes of the listings, API selection, re-import and base paths.

use super::*;

#[test]
fn apis_json_shape() {
    let gw = Gw::new();
    assert_eq!(json(&gw.ok(&["apis", "--json"])), serde_json::json!([]));
    let before = chrono_now();
    gw.ok(&["import", &spec("petstore.yaml")]);
    gw.ok(&["import", &spec("mock.yaml"), "--name", "mocky"]);
    // No description and no info.version.
    let bare = write(
        &gw,
        "bare.yaml",
        "swagger: \"2.0\"\ninfo: {title: bare}\npaths:\n  /x:\n    get:\n      responses: {\"200\": {description: ok}}\n      x-amazon-apigateway-integration: {type: mock}\n",
    );
    gw.ok(&["import", &bare]);

    let list = json(&gw.ok(&["apis", "--json"]));
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    // Sorted by name.
    let names: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bare", "mocky", "petstore"]);

    let pet = &list[2];
    assert_eq!(
        keys(pet),
        [
            "id",
            "name",
            "description",
            "createdDate",
            "version",
            "routeCount"
        ]
    );
    let id = pet["id"].as_str().unwrap();
    assert!(gw::aws::ids::looks_like_api_id(id), "{id}");
    assert_eq!(
        pet["description"],
        "The pet store, proxied to an HTTP backend chosen by the stage variable `backend`."
    );
    let created = pet["createdDate"].as_i64().unwrap();
    assert!(
        created >= before && created <= chrono_now(),
        "epoch seconds: {created}"
    );
    assert_eq!(pet["version"], "1.0");
    assert_eq!(pet["routeCount"], 4);
    assert_eq!(list[1]["routeCount"], 2);

    // Without a description or a version, those keys are left out (as AWS's JSON does).
    let bare = &list[0];
    assert_eq!(keys(bare), ["id", "name", "createdDate", "routeCount"]);
    assert_eq!(bare["routeCount"], 1);
}

#[test]
fn routes_json_shape() {
    if common::skip_without_corpus() {
        return;
    }
    let gw = Gw::new();
    let out = json(&gw.ok(&["import", &spec("petstore.yaml"), "--json"]));
    let id = out["id"].as_str().unwrap().to_string();
    // With one API, --api may be left out.
    let v = json(&gw.ok(&["routes", "--json"]));
    assert_eq!(keys(&v), ["id", "name", "item"]);
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["name"], "petstore");
    let items = v["item"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let get = &items[0];
    assert_eq!(
        keys(get),
        [
            "httpMethod",
            "path",
            "resourceId",
            "integrationType",
            "target",
            "authorizationType",
            "apiKeyRequired"
        ]
    );
    assert_eq!(get["httpMethod"], "GET");
    assert_eq!(get["path"], "/pets");
    assert_eq!(get["integrationType"], "HTTP_PROXY");
    assert_eq!(
        get["target"],
        "GET http://${stageVariables.backend}/${stageVariables.version}/pets"
    );
    assert_eq!(get["authorizationType"], "NONE");
    assert_eq!(get["apiKeyRequired"], false);
    // resourceId is the stored resource's id.
    let api = gw.store().read(|tx| tx.resolve_api(None)).unwrap();
    let pets = api.resources.iter().find(|r| r.path == "/pets").unwrap();
    assert_eq!(get["resourceId"], pets.id.as_str());
    let options = items.iter().find(|r| r["httpMethod"] == "OPTIONS").unwrap();
    assert_eq!(options["integrationType"], "MOCK");
    assert_eq!(options["target"], "mock 200");

    // With an authorizer and an API key: `authorizer` names it.
    gw.ok(&[
        "import",
        &corpus("aws-localstack-pulumi.swagger.json"),
        "--name",
        "pulumi",
    ]);
    let v = json(&gw.ok(&["routes", "--api", "pulumi", "--json"]));
    let items = v["item"].as_array().unwrap();
    let get = items.iter().find(|r| r["path"] == "/just_do_it").unwrap();
    assert_eq!(
        keys(get),
        [
            "httpMethod",
            "path",
            "resourceId",
            "integrationType",
            "target",
            "authorizationType",
            "authorizer",
            "apiKeyRequired"
        ]
    );
    assert_eq!(get["authorizationType"], "CUSTOM");
    assert_eq!(get["authorizer"], "Auth0");
    assert_eq!(get["apiKeyRequired"], true);
    assert_eq!(get["integrationType"], "AWS_PROXY");

    // A route without an integration: integrationType and target are null.
    gw.ok(&[
        "import",
        &corpus("oai-v3.0-petstore.yaml"),
        "--name",
        "plain",
    ]);
    let v = json(&gw.ok(&["routes", "--api", "plain", "--json"]));
    let first = &v["item"][0];
    assert_eq!(first["integrationType"], Value::Null);
    assert_eq!(first["target"], Value::Null);
}

#[test]
fn tables_are_aligned() {
    let gw = Gw::new();
    assert_eq!(
        gw.ok(&["apis"]),
        "no APIs yet: import one with `gw import SPEC`\n"
    );
    gw.ok(&["import", &spec("petstore.yaml")]);
    gw.ok(&[
        "import",
        &spec("proxy.yaml"),
        "--name",
        "a-much-longer-api-name",
    ]);

    let out = gw.ok(&["apis"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let cols = ["ID", "NAME", "ROUTES", "CREATED", "DESCRIPTION"];
    assert!(lines[0].starts_with("ID  "));
    let starts = column_starts(lines[0], &cols);
    let apis = json(&gw.ok(&["apis", "--json"]));
    for (line, api) in lines[1..].iter().zip(apis.as_array().unwrap()) {
        let c = cells(line, &starts);
        assert_eq!(c[0], api["id"].as_str().unwrap());
        assert_eq!(c[1], api["name"].as_str().unwrap());
        assert_eq!(c[2], api["routeCount"].to_string());
        assert_eq!(c[3].len(), "2024-01-01 00:00:00".len(), "{c:?}");
        assert!(api["description"].as_str().unwrap().starts_with(&c[4]));
    }

    let out = gw.ok(&["routes", "--api", "petstore"]);
    let lines: Vec<&str> = out.lines().collect();
    let starts = column_starts(
        lines[0],
        &["METHOD", "PATH", "INTEGRATION", "TARGET", "AUTH"],
    );
    assert_eq!(lines.len(), 5, "{out}");
    let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| cells(l, &starts)).collect();
    assert_eq!(
        rows[0],
        [
            "GET",
            "/pets",
            "HTTP_PROXY",
            "GET http://${stageVariables.backend}/${stageVariables.version}/pets",
            "NONE"
        ]
    );
    assert_eq!(rows[3][..3], ["GET", "/pets/{petId}", "HTTP_PROXY"]);
    // No trailing spaces after the last column.
    assert!(out.lines().all(|l| !l.ends_with(' ')), "{out:?}");
}

#[test]
fn api_selection_and_delete() {
    let gw = Gw::new();
    // No API at all.
    let err = gw.fails(&["routes"]);
    assert_eq!(
        err,
        "error: there are no APIs yet: import one with `gw import SPEC`\n"
    );

    let first = json(&gw.ok(&["import", &spec("petstore.yaml"), "--json"]));
    assert_eq!(json(&gw.ok(&["routes", "--json"]))["name"], "petstore");
    let second = json(&gw.ok(&["import", &spec("mock.yaml"), "--json"]));
    let (id1, id2) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );

    // Two APIs: leaving --api out is an error that lists both.
    let err = gw.fails(&["routes"]);
    assert_eq!(
        err,
        format!("error: there are 2 APIs; choose one with --api: mock ({id2}), petstore ({id1})\n")
    );
    // Either is chosen by name or by id.
    assert_eq!(
        json(&gw.ok(&["routes", "--api", "mock", "--json"]))["id"],
        id2
    );
    assert_eq!(
        json(&gw.ok(&["routes", "--api", id1, "--json"]))["name"],
        "petstore"
    );

    // Unknown API: says so and lists what exists.
    let err = gw.fails(&["api", "delete", "nope"]);
    assert_eq!(
        err,
        format!(
            "error: no API with id or name \"nope\"; known APIs: mock ({id2}), petstore ({id1})\n"
        )
    );
    assert_eq!(
        json(&gw.ok(&["apis", "--json"])).as_array().unwrap().len(),
        2
    );

    // Delete by name, then by id.
    assert_eq!(
        gw.ok(&["api", "delete", "mock"]),
        format!("deleted API mock ({id2})\n")
    );
    assert_eq!(
        json(&gw.ok(&["routes", "--json"]))["name"],
        "petstore",
        "one API left: --api optional again"
    );
    // A deployment and a stage go with the API.
    gw.ok(&["deploy", "--stage", "prod"]);
    assert_eq!(
        gw.ok(&["api", "delete", id1]),
        format!("deleted API petstore ({id1})\n")
    );
    assert_eq!(json(&gw.ok(&["apis", "--json"])), serde_json::json!([]));
    gw.store()
        .read(|tx| {
            assert!(tx.stages(id1)?.is_empty());
            assert!(tx.deployments(id1)?.is_empty());
            Ok(())
        })
        .unwrap();
    let err = gw.fails(&["api", "delete", id1]);
    assert_eq!(
        err,
        format!("error: no API with id or name \"{id1}\"; there are no APIs yet: import one with `gw import SPEC`\n")
    );
}

#[test]
fn reimport_merge_and_overwrite() {
    let gw = Gw::new();
    let created = json(&gw.ok(&["import", &spec("petstore.yaml"), "--name", "p", "--json"]));
    let id = created["id"].as_str().unwrap().to_string();
    let stored = |gw: &Gw| gw.store().read(|tx| tx.resolve_api(Some("p"))).unwrap();
    let original = stored(&gw);
    let petstore_routes = pairs(&[
        ("GET", "/pets"),
        ("OPTIONS", "/pets"),
        ("POST", "/pets"),
        ("GET", "/pets/{petId}"),
    ]);
    assert_eq!(route_pairs(&gw, "p"), petstore_routes);

    // Merge adds mock's routes to petstore's.
    let out = json(&gw.ok(&[
        "import",
        &spec("mock.yaml"),
        "--api",
        "p",
        "--mode",
        "merge",
        "--json",
    ]));
    assert_eq!(out["id"], id.as_str());
    assert_eq!(
        out["name"], "p",
        "re-import keeps the name, not the spec's title"
    );
    let mut expected = petstore_routes.clone();
    expected.extend(pairs(&[("GET", "/status"), ("GET", "/teapot")]));
    let mut got = route_pairs(&gw, "p");
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    let merged = stored(&gw);
    assert_eq!(merged.id, original.id);
    assert_eq!(merged.created_date, original.created_date);
    // Existing resources keep their ids; new ones hang off the existing root.
    let root_id = &original
        .resources
        .iter()
        .find(|r| r.path == "/")
        .unwrap()
        .id;
    for r in &original.resources {
        assert!(
            merged
                .resources
                .iter()
                .any(|m| m.path == r.path && m.id == r.id),
            "{} lost its id",
            r.path
        );
    }
    let status = merged
        .resources
        .iter()
        .find(|r| r.path == "/status")
        .unwrap();
    assert_eq!(status.parent_id.as_ref(), Some(root_id));
    // Gateway responses of the old definition survive a merge.
    assert!(merged
        .gateway_responses
        .contains_key("MISSING_AUTHENTICATION_TOKEN"));

    // Merge: a method in both takes the new spec's definition; the others stay.
    let replace_get = write(
        &gw,
        "get-pets-mock.yaml",
        "openapi: 3.0.1\ninfo: {title: other, version: \"2\"}\npaths:\n  /pets:\n    get:\n      responses: {\"200\": {description: ok}}\n      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{\"statusCode\": 200}'}}\n",
    );
    gw.ok(&["import", &replace_get, "--api", "p", "--mode", "merge"]);
    let v = json(&gw.ok(&["routes", "--api", "p", "--json"]));
    let item = |m: &str, p: &str| {
        v["item"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["httpMethod"] == m && r["path"] == p)
            .cloned()
            .unwrap()
    };
    assert_eq!(item("GET", "/pets")["integrationType"], "MOCK");
    assert_eq!(item("POST", "/pets")["integrationType"], "HTTP_PROXY");
    assert_eq!(v["item"].as_array().unwrap().len(), 6);

    // Overwrite replaces the whole definition, keeping id, name and creation date.
    let out = json(&gw.ok(&[
        "import",
        &spec("mock.yaml"),
        "--api",
        &id,
        "--mode",
        "overwrite",
        "--json",
    ]));
    assert_eq!(out["id"], id.as_str());
    assert_eq!(
        route_pairs(&gw, "p"),
        pairs(&[("GET", "/status"), ("GET", "/teapot")])
    );
    let overwritten = stored(&gw);
    assert_eq!(
        (overwritten.name.as_str(), overwritten.created_date),
        ("p", original.created_date)
    );
    assert!(
        overwritten.gateway_responses.is_empty(),
        "overwrite drops what the new spec lacks"
    );
    assert_eq!(
        overwritten.description.as_deref(),
        Some("Answers from MOCK integrations only; no backend needed.")
    );

    // Overwrite is the default mode.
    gw.ok(&["import", &spec("petstore.yaml"), "--api", "p"]);
    assert_eq!(route_pairs(&gw, "p"), petstore_routes);
    // Still one API.
    assert_eq!(
        json(&gw.ok(&["apis", "--json"])).as_array().unwrap().len(),
        1
    );
}

#[test]
fn basepath_modes() {
    if common::skip_without_corpus() {
        return;
    }
    let gw = Gw::new();
    // Swagger 2.0 petstore: basePath /v1.
    let petstore = corpus("oai-v2.0-petstore.yaml");
    let modes = [
        ("ignore", &["/pets", "/pets/{petId}"]),
        ("prepend", &["/v1/pets", "/v1/pets/{petId}"]),
        ("split", &["/pets", "/pets/{petId}"]),
    ];
    for (mode, paths) in modes {
        gw.ok(&[
            "import",
            &petstore,
            "--name",
            &format!("v2-{mode}"),
            "--basepath",
            mode,
        ]);
        let mut got: Vec<String> = route_pairs(&gw, &format!("v2-{mode}"))
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        got.dedup();
        assert_eq!(got, paths, "--basepath {mode}");
    }
    // The default is ignore.
    gw.ok(&["import", &petstore, "--name", "v2-default"]);
    assert_eq!(
        route_pairs(&gw, "v2-default"),
        route_pairs(&gw, "v2-ignore")
    );
    // Prepend builds the /v1 resource under the root.
    let api = gw
        .store()
        .read(|tx| tx.resolve_api(Some("v2-prepend")))
        .unwrap();
    let paths: Vec<&str> = api.resources.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/", "/v1", "/v1/pets", "/v1/pets/{petId}"]);

    // A two-level basePath tells split from ignore: split drops only the first part.
    let deep = write(
        &gw,
        "deep.yaml",
        "swagger: \"2.0\"\ninfo: {title: deep, version: \"1\"}\nbasePath: /api/v2\npaths:\n  /items:\n    get:\n      responses: {\"200\": {description: ok}}\n      x-amazon-apigateway-integration: {type: mock}\n",
    );
    for (mode, path) in [
        ("ignore", "/items"),
        ("prepend", "/api/v2/items"),
        ("split", "/v2/items"),
    ] {
        gw.ok(&[
            "import",
            &deep,
            "--name",
            &format!("deep-{mode}"),
            "--basepath",
            mode,
        ]);
        assert_eq!(
            route_pairs(&gw, &format!("deep-{mode}")),
            pairs(&[("GET", path)]),
            "--basepath {mode}"
        );
    }

    // OpenAPI 3: the base path is the path of the first server URL.
    gw.ok(&[
        "import",
        &corpus("oai-v3.0-petstore.yaml"),
        "--name",
        "v3",
        "--basepath",
        "PREPEND",
    ]);
    assert_eq!(
        route_pairs(&gw, "v3")[0],
        ("GET".to_string(), "/v1/pets".to_string())
    );

    // Re-import honours --basepath too.
    gw.ok(&[
        "import",
        &petstore,
        "--api",
        "v2-ignore",
        "--basepath",
        "prepend",
    ]);
    assert_eq!(route_pairs(&gw, "v2-ignore")[0].1, "/v1/pets");
}
