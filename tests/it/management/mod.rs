//! The AWS-compatible management API, driven by the real AWS CLI and boto3 (from PyPI, in the
//! repo's `.venv`, made by `scripts/setup-python.sh`) against the real `gw serve`.

use crate::common;

use common::Gw;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

/// The repo's virtualenv, or a failure naming the script that makes it.
fn venv_bin(tool: &str) -> PathBuf {
    let p = common::root().join(".venv/bin").join(tool);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-python.sh (it creates .venv with the AWS CLI and boto3 from PyPI)",
        p.display()
    );
    p
}

/// The AWS CLI pointed at `addr`, with test credentials and no user configuration.
pub(crate) struct Aws {
    endpoint: String,
    access_key: String,
    secret: String,
}

impl Aws {
    pub(crate) fn new(addr: SocketAddr) -> Aws {
        Aws {
            endpoint: format!("http://{addr}"),
            access_key: "test".into(),
            secret: "test".into(),
        }
    }

    fn with_keys(addr: SocketAddr, key: &str, secret: &str) -> Aws {
        Aws {
            access_key: key.into(),
            secret: secret.into(),
            ..Aws::new(addr)
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(venv_bin("aws"))
            .args([
                "--endpoint-url",
                &self.endpoint,
                "--output",
                "json",
                "apigateway",
            ])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/gw-test-aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/gw-test-aws-credentials",
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .current_dir(common::root())
            .output()
            .unwrap()
    }

    /// Run, assert success, parse stdout (empty stdout → Null).
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "aws apigateway {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
        }
    }

    /// Run, assert failure, return stderr (where the CLI prints `An error occurred (Code) ...`).
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "aws apigateway {args:?} should have failed"
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// Import petstore and deploy `prod` (d1) with variables; returns (api id, d1).
fn import_and_deploy(aws: &Aws, backend: &str) -> (String, String) {
    let api = aws.json(&["import-rest-api", "--body", "fileb://specs/petstore.yaml"]);
    let id = s(&api["id"]).to_string();
    let d1 = aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--description",
        "v1",
    ]);
    let d1 = s(&d1["id"]).to_string();
    aws.json(&[
        "create-stage",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
        "--deployment-id",
        &d1,
        "--variables",
        &format!("backend={backend},version=v1"),
    ]);
    (id, d1)
}

/// `aws apigateway CMD --rest-api-id ID --resource-id RID --http-method VERB EXTRA...`: the calls
/// on one method of one resource.
struct MethodCalls<'a> {
    aws: &'a Aws,
    id: &'a str,
}

impl MethodCalls<'_> {
    fn args<'s>(
        &'s self,
        cmd: &'s str,
        rid: &'s str,
        verb: &'s str,
        extra: &[&'s str],
    ) -> Vec<&'s str> {
        let mut args = vec![
            cmd,
            "--rest-api-id",
            self.id,
            "--resource-id",
            rid,
            "--http-method",
            verb,
        ];
        args.extend_from_slice(extra);
        args
    }

    fn ok(&self, cmd: &str, rid: &str, verb: &str, extra: &[&str]) -> Value {
        self.aws.json(&self.args(cmd, rid, verb, extra))
    }

    fn fails(&self, cmd: &str, rid: &str, verb: &str, extra: &[&str]) -> String {
        self.aws.fails(&self.args(cmd, rid, verb, extra))
    }

    /// A MOCK integration on an existing method answering 200 with `answer` (a template).
    fn mock_answer(&self, rid: &str, verb: &str, answer: &str) {
        let template = r#"{"application/json": "{\"statusCode\": 200}"}"#;
        self.ok(
            "put-integration",
            rid,
            verb,
            &["--type", "MOCK", "--request-templates", template],
        );
        self.ok("put-method-response", rid, verb, &["--status-code", "200"]);
        let answer = serde_json::json!({ "application/json": answer }).to_string();
        self.ok(
            "put-integration-response",
            rid,
            verb,
            &["--status-code", "200", "--response-templates", &answer],
        );
    }
}

/// A deployed API (stage `prod`) whose root GET is a MOCK answering "keyed" and requires an API
/// key; returns its id.
pub(crate) fn api_requiring_a_key(aws: &Aws) -> String {
    let api = aws.json(&["create-rest-api", "--name", "keyed"]);
    let id = s(&api["id"]).to_string();
    let root = s(&api["rootResourceId"]).to_string();
    let calls = MethodCalls { aws, id: &id };
    calls.ok(
        "put-method",
        &root,
        "GET",
        &["--authorization-type", "NONE", "--api-key-required"],
    );
    calls.mock_answer(&root, "GET", "keyed");
    aws.json(&[
        "create-deployment",
        "--rest-api-id",
        &id,
        "--stage-name",
        "prod",
    ]);

    id
}

mod aws_cli;
mod built_by_calls;
mod documentation;
mod domains;
mod errors;
mod iam;
mod limits_and_validation;
mod test_invoke;
mod updates;
mod usage_and_tags;
