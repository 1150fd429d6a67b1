//! The `gw` command line: parses arguments into typed commands, calls the library, prints tables
//! or JSON. `anyhow` lives here only.

mod table;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use gw::control::import::{BasePathMode, ImportOptions, Warning};
use gw::control::{self, PutMode};
use gw::model::{RestApi, Stage};
use gw::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;
use table::Table;

/// `println!` for the command's output. Unlike `println!` it does not panic when standard output
/// is a closed pipe (`gw routes | head -1`): the program ends quietly, as Unix tools do.
macro_rules! outln {
    () => { emit(format_args!(""), true) };
    ($($t:tt)*) => { emit(format_args!($($t)*), true) };
}

/// `print!` for the command's output; see `outln!`.
macro_rules! out {
    ($($t:tt)*) => { emit(format_args!($($t)*), false) };
}

fn emit(args: std::fmt::Arguments, newline: bool) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| {
        if newline {
            stdout.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        exit_on_write_error(&e);
    }
}

fn exit_on_write_error(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to standard output: {e}");
    std::process::exit(1);
}

#[derive(Parser)]
#[command(
    name = "gw",
    version,
    about = "A local, Docker-free emulator of AWS API Gateway",
    after_help = "State lives in .gw/ under the current directory (override with --state or GW_STATE).\nDocs: README.md"
)]
struct Cli {
    /// State directory (default: .gw under the current directory).
    #[arg(long, global = true, env = "GW_STATE", value_name = "DIR")]
    state: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import an OpenAPI 3.x / Swagger 2.0 spec as a new API, or re-import into one (--api).
    Import(ImportArgs),
    /// List APIs.
    Apis(JsonFlag),
    /// List the routes (methods) of an API.
    Routes {
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// API commands (delete).
    #[command(subcommand)]
    Api(ApiCommand),
    /// Deploy the API to a stage (optionally as the stage's canary).
    Deploy(DeployArgs),
    /// Change the canary's share of traffic.
    Canary {
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        /// The stage (may be left out when only one stage has a canary).
        #[arg(long)]
        stage: Option<String>,
        /// Percentage of requests sent to the canary, 0-100 (decimals allowed).
        #[arg(long, value_parser = parse_percent)]
        percent: f64,
    },
    /// Promote the canary: production takes its deployment and variable overrides; the canary ends.
    Promote {
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        /// The stage (may be left out when only one stage has a canary).
        #[arg(long)]
        stage: Option<String>,
    },
    /// Remove the canary without promoting it (production untouched).
    Rollback {
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        /// The stage (may be left out when only one stage has a canary).
        #[arg(long)]
        stage: Option<String>,
    },
    /// List stages.
    Stages {
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// List deployments.
    Deployments {
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Stage commands (show, set-var, unset-var, delete).
    #[command(subcommand)]
    Stage(StageCommand),
    /// Function commands (put, delete).
    #[command(subcommand)]
    Function(FunctionCommand),
    /// List WebAssembly functions and their versions.
    Functions(JsonFlag),
    /// API key commands (create, delete) for methods with apiKeyRequired.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// List API keys and the stages they open.
    #[command(name = "api-keys")]
    ApiKeys(JsonFlag),
    /// Serve every deployed stage on one listener; follows every change live.
    Serve(ServeArgs),
    /// Call a stage's route without a running server (for scripts and tests).
    Invoke(InvokeArgs),
    /// Import the bundled demo API, deploy production and a 10 % canary, and serve it.
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Directory holding the built example functions (hello.wasm, echo.wasm).
        #[arg(long, value_name = "DIR")]
        functions: Option<PathBuf>,
    },
}

#[derive(Args)]
struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ImportArgs {
    /// The spec file (YAML or JSON).
    file: PathBuf,
    /// Name of the new API (default: the spec's info.title).
    #[arg(long)]
    name: Option<String>,
    /// Re-import into this existing API (id or name) instead of creating one.
    #[arg(long)]
    api: Option<String>,
    /// With --api: overwrite (replace the definition; the default) or merge (add to it).
    #[arg(long, requires = "api")]
    mode: Option<String>,
    /// Treat warnings as an error (nothing is stored).
    #[arg(long)]
    fail_on_warnings: bool,
    /// How to treat the spec's basePath: ignore, prepend or split.
    #[arg(long, default_value = "ignore")]
    basepath: String,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Subcommand)]
enum ApiCommand {
    /// Delete an API with its deployments and stages.
    Delete { api: String },
}

#[derive(Args)]
struct DeployArgs {
    /// The API, by id or name (may be left out when there is only one).
    #[arg(long)]
    api: Option<String>,
    /// The stage to deploy to (created if missing; with --canary it must exist).
    #[arg(long)]
    stage: String,
    #[arg(long)]
    description: Option<String>,
    /// Stage variable K=V (repeatable).
    #[arg(long = "var", value_name = "K=V")]
    vars: Vec<String>,
    /// Make this deployment the stage's canary with this percentage of traffic.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    canary: Option<f64>,
    /// Canary stage-variable override K=V (repeatable; needs --canary).
    #[arg(long = "canary-var", value_name = "K=V")]
    canary_vars: Vec<String>,
    #[command(flatten)]
    json: JsonFlag,
}

#[derive(Subcommand)]
enum StageCommand {
    /// Show one stage: deployment, canary, variables, URLs.
    Show {
        stage: String,
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Set stage variables.
    SetVar {
        stage: String,
        #[arg(value_name = "K=V", required = true)]
        vars: Vec<String>,
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
    },
    /// Remove a stage variable.
    UnsetVar {
        stage: String,
        key: String,
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
    },
    /// Throttle a stage's methods (AWS's methodSettings): a token bucket per method, refilled at
    /// --rate requests per second, holding --burst; past it, 429 Too Many Requests.
    Throttle {
        stage: String,
        /// Requests per second.
        #[arg(long, required_unless_present = "off")]
        rate: Option<f64>,
        /// Requests allowed at once (the bucket's size).
        #[arg(long, required_unless_present = "off")]
        burst: Option<i64>,
        /// One method, as `gw routes` shows it ("GET /pets/{id}"); without it, every method.
        #[arg(long, value_name = "VERB /PATH")]
        method: Option<String>,
        /// Remove the throttle instead.
        #[arg(long, conflicts_with_all = ["rate", "burst"])]
        off: bool,
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
    },
    /// Log every request to the stage in FORMAT ($context variables), as accessLogSettings does;
    /// lines go to `gw serve`'s standard output (or its --access-log file).
    AccessLog {
        stage: String,
        /// The line's format, e.g. '$context.requestId $context.httpMethod $context.resourcePath $context.status'.
        #[arg(long, required_unless_present = "off")]
        format: Option<String>,
        /// Stop logging.
        #[arg(long, conflicts_with = "format")]
        off: bool,
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
    },
    /// Delete a stage.
    Delete {
        stage: String,
        /// The API, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
    },
}

#[derive(Args)]
struct InvokeArgs {
    /// The path after the stage, e.g. /pets/1?limit=2.
    path: String,
    /// The API, by id or name (may be left out when there is only one).
    #[arg(long)]
    api: Option<String>,
    #[arg(long)]
    stage: String,
    #[arg(long, short = 'X', default_value = "GET")]
    method: String,
    /// Request header NAME:VALUE (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    headers: Vec<String>,
    /// Request body.
    #[arg(long, short = 'd')]
    data: Option<String>,
    /// Force the canary (or, with --production, production) instead of the random draw.
    #[arg(long, conflicts_with = "production")]
    canary: bool,
    #[arg(long)]
    production: bool,
    /// Print the status line and headers before the body.
    #[arg(long, short = 'i')]
    include: bool,
}

#[derive(Subcommand)]
enum FunctionCommand {
    /// Add a new version of a function from a .wasm file ($LATEST moves to it).
    Put {
        name: String,
        file: PathBuf,
        /// Memory limit per invocation, MiB.
        #[arg(long, default_value_t = 128)]
        memory: i64,
        /// Time limit per invocation, seconds (the integration's timeoutInMillis may be shorter).
        #[arg(long, default_value_t = 29)]
        timeout: i64,
        /// Environment variable K=V given to the function (repeatable).
        #[arg(long = "env", value_name = "K=V")]
        env: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a function and all its versions.
    Delete { name: String },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key (enabled); with --stage, callers may use it on that stage.
    Create {
        name: String,
        /// The key's value (20 to 128 characters); a random 40-character value by default.
        #[arg(long)]
        value: Option<String>,
        /// A stage the key opens (repeatable); the key joins the usage plan gw keeps for it.
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// The API of the --stage options, by id or name (may be left out when there is only one).
        #[arg(long)]
        api: Option<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete an API key (by id or name); it leaves every usage plan.
    Delete { key: String },
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: String,
    /// Do not add the x-gw-deployment / x-gw-canary response headers.
    #[arg(long)]
    no_deployment_header: bool,
    /// Management API calls (AWS CLI, boto3, Terraform) must be SigV4-signed with this key pair;
    /// by default any credentials are accepted.
    #[arg(long, value_name = "ACCESS_KEY:SECRET", env = "GW_REQUIRE_SIGV4")]
    require_sigv4: Option<String>,
    /// Append the access-log lines of stages with accessLogSettings to FILE instead of
    /// standard output.
    #[arg(long, value_name = "FILE")]
    access_log: Option<std::path::PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let changes_state = changes_state(&cli.command);
    let state = cli.state.clone();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    if changes_state {
        wait_until_served(&state);
    }
}

/// Commands that write to the store (and so change what a running server serves).
fn changes_state(command: &Command) -> bool {
    match command {
        Command::Import(_)
        | Command::Api(_)
        | Command::Deploy(_)
        | Command::Canary { .. }
        | Command::Promote { .. }
        | Command::Rollback { .. }
        | Command::Function(_)
        | Command::ApiKey(_) => true,
        Command::Stage(s) => !matches!(s, StageCommand::Show { .. }),
        Command::Apis(_)
        | Command::Routes { .. }
        | Command::Stages { .. }
        | Command::Deployments { .. }
        | Command::Functions(_)
        | Command::ApiKeys(_)
        | Command::Serve(_)
        | Command::Invoke(_)
        | Command::Demo { .. } => false,
    }
}

/// How long a command waits for running servers to serve its change.
const SERVED_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Returns once every `gw serve` running on this state directory serves the change just made,
/// so that `gw deploy ... && curl ...` sees the deployment. A server that does not catch up in
/// time is named on stderr; the change itself is committed either way.
fn wait_until_served(state: &Option<PathBuf>) {
    let Ok(store) = store(state) else {
        return;
    };
    let Ok(generation) = store.generation() else {
        return;
    };
    for b in gw::store::serving::wait_until_served(store.dir(), generation, SERVED_WITHIN) {
        eprintln!(
            "warning: the gw server with process id {} has not picked up this change within {} s; it serves the state before it until it does",
            b.pid,
            SERVED_WITHIN.as_secs()
        );
    }
}

fn store(cli_state: &Option<PathBuf>) -> Result<Store> {
    let dir = cli_state.clone().unwrap_or_else(|| PathBuf::from(".gw"));
    Ok(Store::open(&dir)?)
}

/// A canary percentage: a number, optionally written with a trailing `%`. The range (0-100) is
/// checked where AWS checks it, with AWS's message.
fn parse_percent(text: &str) -> std::result::Result<f64, String> {
    let number = text.trim().strip_suffix('%').unwrap_or(text.trim()).trim();
    match number.parse::<f64>() {
        // `+ 0.0` turns -0 into 0.
        Ok(p) if p.is_finite() => Ok(p + 0.0),
        _ => Err(format!(
            "{text:?} is not a percentage; write a number from 0 to 100, such as 10 or 12.5"
        )),
    }
}

fn parse_kv(items: &[String], what: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            bail!("{what} {item:?} is not K=V; write it as name=value");
        };
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn date(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn print_warnings(warnings: &[Warning]) {
    if warnings.is_empty() {
        return;
    }
    eprintln!("{} warning(s):", warnings.len());
    for w in warnings.iter().take(20) {
        eprintln!("  warning: {w}");
    }
    if warnings.len() > 20 {
        eprintln!(
            "  ... and {} more (`gw import --json` lists all)",
            warnings.len() - 20
        );
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Import(args) => import(&cli.state, args),
        Command::Apis(j) => apis(&cli.state, j.json),
        Command::Routes { api, json } => routes(&cli.state, api.as_deref(), json.json),
        Command::Api(ApiCommand::Delete { api }) => {
            let api = control::delete_api(&store(&cli.state)?, &api)?;
            outln!("deleted API {} ({})", api.name, api.id);
            Ok(())
        }
        Command::Deploy(args) => deploy(&cli.state, args),
        Command::Canary {
            api,
            stage,
            percent,
        } => {
            let (api, stage) = control::set_canary_percent(
                &store(&cli.state)?,
                api.as_deref(),
                stage.as_deref(),
                percent,
            )?;
            outln!(
                "stage {} of {}: canary now takes {percent} % of traffic",
                stage.stage_name,
                api.name
            );
            Ok(())
        }
        Command::Promote { api, stage } => {
            let (api, stage) =
                control::promote(&store(&cli.state)?, api.as_deref(), stage.as_deref())?;
            outln!(
                "promoted: stage {} of {} now serves deployment {}; canary removed",
                stage.stage_name,
                api.name,
                stage.deployment_id
            );
            Ok(())
        }
        Command::Rollback { api, stage } => {
            let (api, stage, dropped) =
                control::rollback(&store(&cli.state)?, api.as_deref(), stage.as_deref())?;
            outln!(
                "rolled back: canary {dropped} removed; stage {} of {} serves deployment {}",
                stage.stage_name,
                api.name,
                stage.deployment_id
            );
            Ok(())
        }
        Command::Stages { api, json } => stages(&cli.state, api.as_deref(), json.json),
        Command::Deployments { api, json } => deployments(&cli.state, api.as_deref(), json.json),
        Command::Stage(cmd) => stage_command(&cli.state, cmd),
        Command::Function(cmd) => function_command(&cli.state, cmd),
        Command::Functions(j) => functions(&cli.state, j.json),
        Command::ApiKey(cmd) => api_key_command(&cli.state, cmd),
        Command::ApiKeys(j) => api_keys(&cli.state, j.json),
        Command::Invoke(args) => invoke(&cli.state, args),
        Command::Serve(args) => serve(&cli.state, args, None),
        Command::Demo {
            serve: args,
            functions,
        } => serve(&cli.state, args, Some(functions)),
    }
}

fn import(state: &Option<PathBuf>, args: ImportArgs) -> Result<()> {
    let file = args.file.display().to_string();
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("cannot read {file}; check the path"))?;
    let Some(basepath) = BasePathMode::parse(&args.basepath) else {
        bail!(
            "--basepath {:?} is not one of ignore, prepend, split",
            args.basepath
        );
    };
    let options = ImportOptions {
        basepath,
        fail_on_warnings: args.fail_on_warnings,
        endpoint_type: None,
    };
    let store = store(state)?;
    let (api, warnings, verb) = match &args.api {
        None => {
            let (api, w) =
                control::import_new(&store, &file, &bytes, args.name.as_deref(), &options)?;
            (api, w, "imported")
        }
        Some(sel) => {
            let mode = args.mode.as_deref().unwrap_or("overwrite");
            let Some(mode) = PutMode::parse(mode) else {
                bail!("--mode {mode:?} is not one of overwrite, merge");
            };
            let (api, w) = control::import_into(&store, sel, &file, &bytes, mode, &options)?;
            (api, w, "re-imported")
        }
    };
    if args.json.json {
        return print_json(&serde_json::json!({
            "id": api.id, "name": api.name, "warnings": warnings,
        }));
    }
    print_warnings(&warnings);
    outln!(
        "{verb} API {} (id {}) with {} route(s)",
        api.name,
        api.id,
        api.method_count()
    );
    out!("{}", routes_table(&api));
    Ok(())
}

fn apis(state: &Option<PathBuf>, json: bool) -> Result<()> {
    let list = store(state)?.read(|tx| tx.api_summaries())?;
    if json {
        return print_json(&list);
    }
    let mut t = Table::new(&["ID", "NAME", "ROUTES", "CREATED", "DESCRIPTION"]);
    for a in &list {
        t.row(vec![
            a.id.clone(),
            a.name.clone(),
            a.route_count.to_string(),
            date(a.created_date),
            a.description
                .as_deref()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(60)
                .collect(),
        ]);
    }
    if t.is_empty() {
        outln!("no APIs yet: import one with `gw import SPEC`");
    } else {
        out!("{t}");
    }
    Ok(())
}

/// One route as `gw routes --json` prints it.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteRow {
    http_method: String,
    path: String,
    resource_id: String,
    integration_type: Option<String>,
    target: Option<String>,
    authorization_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<String>,
    api_key_required: bool,
}

fn route_rows(api: &RestApi) -> Vec<RouteRow> {
    api.routes()
        .map(|(r, m)| {
            let i = m.method_integration.as_ref();
            RouteRow {
                http_method: m.http_method.clone(),
                path: r.path.clone(),
                resource_id: r.id.clone(),
                integration_type: i.map(|i| i.kind.as_str().to_string()),
                target: i.and_then(gw::gateway::integrations::describe_target),
                authorization_type: m.authorization_type.clone(),
                authorizer: m.authorizer_id.as_ref().and_then(|id| {
                    api.authorizers
                        .iter()
                        .find(|a| &a.id == id)
                        .map(|a| a.name.clone())
                }),
                api_key_required: m.api_key_required,
            }
        })
        .collect()
}

fn routes_table(api: &RestApi) -> Table {
    let mut t = Table::new(&["METHOD", "PATH", "INTEGRATION", "TARGET", "AUTH"]);
    for r in route_rows(api) {
        let mut auth = r.authorization_type.clone();
        if let Some(a) = &r.authorizer {
            auth = format!("{auth} ({a})");
        }
        if r.api_key_required {
            auth.push_str(" +API key");
        }
        t.row(vec![
            r.http_method,
            r.path,
            r.integration_type.unwrap_or_else(|| "-".into()),
            r.target.unwrap_or_else(|| "-".into()),
            auth,
        ]);
    }
    t
}

fn routes(state: &Option<PathBuf>, api: Option<&str>, json: bool) -> Result<()> {
    let api = store(state)?.read(|tx| tx.resolve_api(api))?;
    if json {
        return print_json(&serde_json::json!({
            "id": api.id, "name": api.name, "item": route_rows(&api),
        }));
    }
    out!("{}", routes_table(&api));
    Ok(())
}

fn deploy(state: &Option<PathBuf>, args: DeployArgs) -> Result<()> {
    let store = store(state)?;
    let vars = parse_kv(&args.vars, "--var")?;
    let overrides = parse_kv(&args.canary_vars, "--canary-var")?;
    let deployed = match args.canary {
        Some(pct) => {
            if !vars.is_empty() {
                bail!("--var sets production variables and cannot be combined with --canary; use --canary-var for canary overrides");
            }
            control::deploy_canary(
                &store,
                args.api.as_deref(),
                &args.stage,
                pct,
                &overrides,
                args.description.as_deref(),
            )?
        }
        None => {
            if !overrides.is_empty() {
                bail!("--canary-var needs --canary PCT");
            }
            control::deploy(
                &store,
                args.api.as_deref(),
                &args.stage,
                args.description.as_deref(),
                &vars,
            )?
        }
    };
    if args.json.json {
        return print_json(&serde_json::json!({
            "apiId": deployed.api.id,
            "deployment": deployed.deployment,
            "stage": deployed.stage,
        }));
    }
    match &deployed.stage.canary_settings {
        Some(c) if args.canary.is_some() => outln!(
            "deployment {} is the canary of stage {} of {} at {} % (production stays on {})",
            deployed.deployment.id,
            deployed.stage.stage_name,
            deployed.api.name,
            c.percent_traffic,
            deployed.stage.deployment_id
        ),
        _ => outln!(
            "deployment {} is live on stage {} of {}",
            deployed.deployment.id,
            deployed.stage.stage_name,
            deployed.api.name
        ),
    }
    let vars = match &deployed.stage.canary_settings {
        Some(c) if args.canary.is_some() => gw::store::merged_canary_variables(&deployed.stage, c),
        _ => deployed.stage.variables.clone(),
    };
    for w in control::missing_functions(&store, &deployed.api, &vars)? {
        eprintln!("warning: {w}");
    }
    if let Some(d) = &deployed.dropped_canary {
        outln!("the stage's canary ({d}) was removed by this deployment");
    }
    for url in gw::control::urls::invoke_urls(&deployed.api, &deployed.stage.stage_name, None) {
        outln!("  {url}");
    }
    Ok(())
}

fn stages(state: &Option<PathBuf>, api: Option<&str>, json: bool) -> Result<()> {
    let (api, list) = store(state)?.read(|tx| {
        let api = tx.resolve_api(api)?;
        let list = tx.stages(&api.id)?;
        Ok((api, list))
    })?;
    if json {
        return print_json(&serde_json::json!({ "item": list }));
    }
    let mut t = Table::new(&["STAGE", "DEPLOYMENT", "CANARY", "VARIABLES", "UPDATED"]);
    for s in &list {
        t.row(vec![
            s.stage_name.clone(),
            s.deployment_id.clone(),
            s.canary_settings
                .as_ref()
                .map(|c| format!("{} @ {} %", c.deployment_id, c.percent_traffic))
                .unwrap_or_else(|| "-".into()),
            s.variables.len().to_string(),
            date(s.last_updated_date),
        ]);
    }
    if t.is_empty() {
        outln!(
            "API {} has no stages: deploy with `gw deploy --stage NAME`",
            api.name
        );
    } else {
        out!("{t}");
    }
    Ok(())
}

fn deployments(state: &Option<PathBuf>, api: Option<&str>, json: bool) -> Result<()> {
    let (list, stages) = store(state)?.read(|tx| {
        let api = tx.resolve_api(api)?;
        Ok((tx.deployments(&api.id)?, tx.stages(&api.id)?))
    })?;
    if json {
        return print_json(&serde_json::json!({ "item": list }));
    }
    let mut t = Table::new(&["ID", "CREATED", "USED BY", "DESCRIPTION"]);
    for d in &list {
        let used: Vec<String> = stages
            .iter()
            .flat_map(|s| {
                let mut v = Vec::new();
                if s.deployment_id == d.id {
                    v.push(s.stage_name.clone());
                }
                if s.canary_settings
                    .as_ref()
                    .is_some_and(|c| c.deployment_id == d.id)
                {
                    v.push(format!("{} (canary)", s.stage_name));
                }
                v
            })
            .collect();
        t.row(vec![
            d.id.clone(),
            date(d.created_date),
            if used.is_empty() {
                "-".into()
            } else {
                used.join(", ")
            },
            d.description.clone().unwrap_or_default(),
        ]);
    }
    out!("{t}");
    Ok(())
}

/// A `methodSettings` key as `gw routes` writes methods: `*/*` → "every method",
/// `pets/{id}/GET` → "GET /pets/{id}".
fn throttle_target(key: &str) -> String {
    match key.rsplit_once('/') {
        Some(("*", "*")) => "every method".to_string(),
        Some((path, verb)) => format!("{verb} /{path}"),
        None => key.to_string(),
    }
}

fn show_stage(api: &RestApi, s: &Stage) {
    outln!("stage:       {}", s.stage_name);
    outln!("api:         {} ({})", api.name, api.id);
    outln!("deployment:  {}", s.deployment_id);
    match &s.canary_settings {
        Some(c) => {
            outln!(
                "canary:      {} at {} % of traffic",
                c.deployment_id,
                c.percent_traffic
            );
            for (k, v) in &c.stage_variable_overrides {
                outln!("  override   {k}={v}");
            }
        }
        None => outln!("canary:      none"),
    }
    if s.variables.is_empty() {
        outln!("variables:   none");
    } else {
        outln!("variables:");
        for (k, v) in &s.variables {
            outln!("  {k}={v}");
        }
    }
    for (key, m) in &s.method_settings {
        outln!(
            "throttle:    {} at {} requests/s, burst {}",
            throttle_target(key),
            m.throttling_rate_limit,
            m.throttling_burst_limit
        );
    }
    if let Some(format) = s
        .access_log_settings
        .as_ref()
        .and_then(|a| a.format.as_ref())
    {
        outln!("access log:  {format}");
    }
    outln!("urls:");
    for url in gw::control::urls::invoke_urls(api, &s.stage_name, None) {
        outln!("  {url}");
    }
}

fn stage_command(state: &Option<PathBuf>, cmd: StageCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        StageCommand::Show { stage, api, json } => {
            let (api, s) = store.read(|tx| {
                let api = tx.resolve_api(api.as_deref())?;
                let s = tx.stage(&api.id, &stage)?;
                Ok((api, s))
            })?;
            let Some(s) = s else {
                bail!(
                    "Invalid Stage identifier specified: no stage {stage:?} in API {}; `gw stages` lists them",
                    api.name
                );
            };
            if json.json {
                let mut v = serde_json::to_value(&s)?;
                v["urls"] =
                    serde_json::json!(gw::control::urls::invoke_urls(&api, &s.stage_name, None));
                return print_json(&v);
            }
            show_stage(&api, &s);
        }
        StageCommand::SetVar { stage, vars, api } => {
            let vars = parse_kv(&vars, "variable")?;
            let (api, s) = control::set_variables(&store, api.as_deref(), &stage, &vars)?;
            outln!(
                "stage {} of {}: {} variable(s) set",
                s.stage_name,
                api.name,
                vars.len()
            );
        }
        StageCommand::UnsetVar { stage, key, api } => {
            let (api, s) = control::unset_variable(&store, api.as_deref(), &stage, &key)?;
            outln!(
                "stage {} of {}: variable {key} removed",
                s.stage_name,
                api.name
            );
        }
        StageCommand::Throttle {
            stage,
            rate,
            burst,
            method,
            off,
            api,
        } => {
            let method = match method.as_deref() {
                None => None,
                Some(m) => Some(m.trim().split_once(' ').map(|(v, p)| (v, p.trim())).ok_or_else(
                    || anyhow::anyhow!("--method {m:?}: write the verb and the path, such as \"GET /pets/{{id}}\""),
                )?),
            };
            let limits = match (off, rate, burst) {
                (true, _, _) => None,
                (false, Some(r), Some(b)) => Some((r, b)),
                _ => bail!("give --rate and --burst, or --off"),
            };
            let (api, _) = control::set_throttle(&store, api.as_deref(), &stage, method, limits)?;
            let what = match method {
                Some((v, p)) => format!("{} {p}", v.to_ascii_uppercase()),
                None => "every method".to_string(),
            };
            match limits {
                Some((r, b)) => outln!(
                    "stage {stage} of {}: {what} throttled to {r} requests/s, burst {b}",
                    api.name
                ),
                None => outln!("stage {stage} of {}: throttle on {what} removed", api.name),
            }
        }
        StageCommand::AccessLog {
            stage,
            format,
            off,
            api,
        } => {
            let format = if off { None } else { format.as_deref() };
            let (api, _) = control::set_access_log(&store, api.as_deref(), &stage, format)?;
            match format {
                Some(_) => outln!(
                    "stage {stage} of {}: every request is logged by `gw serve` (standard output, or its --access-log file)",
                    api.name
                ),
                None => outln!("stage {stage} of {}: access log off", api.name),
            }
        }
        StageCommand::Delete { stage, api } => {
            let api = control::delete_stage(&store, api.as_deref(), &stage)?;
            outln!("deleted stage {stage} of {}", api.name);
        }
    }
    Ok(())
}

fn function_command(state: &Option<PathBuf>, cmd: FunctionCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        FunctionCommand::Put {
            name,
            file,
            memory,
            timeout,
            env,
            json,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read {}; check the path", file.display()))?;
            let env = parse_kv(&env, "--env")?;
            let (v, kind) = control::put_function(&store, &name, &bytes, memory, timeout, &env)?;
            if json.json {
                return print_json(&v);
            }
            outln!(
                "function {}:{} ({kind}, {} bytes) registered; $LATEST -> {}",
                v.name,
                v.version,
                v.size,
                v.version
            );
        }
        FunctionCommand::Delete { name } => {
            let n = store.write(|tx| tx.delete_function(&name))?;
            outln!("deleted function {name} ({n} version(s))");
        }
    }
    Ok(())
}

fn api_key_command(state: &Option<PathBuf>, cmd: ApiKeyCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        ApiKeyCommand::Create {
            name,
            value,
            stages,
            api,
            json,
        } => {
            let key = control::create_api_key(
                &store,
                control::NewApiKey {
                    name,
                    value,
                    enabled: true,
                    description: None,
                },
            )?;
            let mut plans = Vec::new();
            for stage in &stages {
                plans.push(control::grant_stage(
                    &store,
                    &key.id,
                    api.as_deref(),
                    stage,
                )?);
            }
            if json.json {
                return print_json(&serde_json::json!({"key": key, "usagePlans": plans}));
            }
            outln!("api key {} ({}) created: {}", key.name, key.id, key.value);
            for p in &plans {
                outln!("  opens {} (usage plan {})", p.name, p.id);
            }
            if plans.is_empty() {
                outln!("  it opens no stage yet: add --stage NAME, or put it in a usage plan");
            } else {
                outln!("  call with: curl -H 'x-api-key: {}' ...", key.value);
            }
        }
        ApiKeyCommand::Delete { key } => {
            let k = control::delete_api_key(&store, &key)?;
            outln!("deleted api key {} ({})", k.name, k.id);
        }
    }
    Ok(())
}

fn api_keys(state: &Option<PathBuf>, json: bool) -> Result<()> {
    let (keys, plans, apis) =
        store(state)?.read(|tx| Ok((tx.api_keys()?, tx.usage_plans()?, tx.api_summaries()?)))?;
    let api_name = |id: &str| {
        apis.iter()
            .find(|a| a.id == id)
            .map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    if json {
        return print_json(&serde_json::json!({ "item": keys, "usagePlans": plans }));
    }
    let mut t = Table::new(&["NAME", "ID", "VALUE", "ENABLED", "STAGES", "CREATED"]);
    for k in &keys {
        let stages: Vec<String> = plans
            .iter()
            .filter(|p| p.key_ids.contains(&k.id))
            .flat_map(|p| {
                p.api_stages
                    .iter()
                    .map(|s| format!("{}/{}", api_name(&s.api_id), s.stage))
            })
            .collect();
        t.row(vec![
            k.name.clone(),
            k.id.clone(),
            k.value.clone(),
            k.enabled.to_string(),
            if stages.is_empty() {
                "-".to_string()
            } else {
                stages.join(", ")
            },
            date(k.created_date),
        ]);
    }
    if t.is_empty() {
        outln!("no API keys yet: add one with `gw api-key create NAME --stage STAGE`");
    } else {
        out!("{t}");
    }
    Ok(())
}

fn functions(state: &Option<PathBuf>, json: bool) -> Result<()> {
    let list = store(state)?.read(|tx| tx.functions())?;
    if json {
        return print_json(&serde_json::json!({ "item": list }));
    }
    let mut latest: BTreeMap<&str, i64> = BTreeMap::new();
    for f in &list {
        let e = latest.entry(f.name.as_str()).or_default();
        *e = (*e).max(f.version);
    }
    let mut t = Table::new(&[
        "NAME", "VERSION", "KIND", "SIZE", "MEMORY", "TIMEOUT", "CREATED",
    ]);
    for f in &list {
        let kind = f
            .kind
            .parse::<gw::wasm::ContractKind>()
            .map(|k| k.to_string())
            .unwrap_or_else(|_| f.kind.clone());
        let version = if latest.get(f.name.as_str()) == Some(&f.version) {
            format!("{} ($LATEST)", f.version)
        } else {
            f.version.to_string()
        };
        t.row(vec![
            f.name.clone(),
            version,
            kind,
            format!("{} KiB", (f.size + 1023) / 1024),
            format!("{} MiB", f.memory_mb),
            format!("{} s", f.timeout_seconds),
            date(f.created_date),
        ]);
    }
    if t.is_empty() {
        outln!("no functions yet: add one with `gw function put NAME FILE.wasm`");
    } else {
        out!("{t}");
    }
    Ok(())
}

/// `demo`: `Some(functions dir)` to set up the demo API first.
/// Start the real server on a free loopback port, send one request through it, print the answer.
fn invoke(state: &Option<PathBuf>, args: InvokeArgs) -> Result<()> {
    use http_body_util::BodyExt;
    let store = store(state)?;
    let api = store.read(|tx| tx.resolve_api(args.api.as_deref()))?;
    let path = if args.path.starts_with('/') {
        args.path.clone()
    } else {
        format!("/{}", args.path)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(gw::server::run(
            listener,
            store,
            gw::server::Config {
                announce: false,
                ..Default::default()
            },
            async {
                let _ = stopped.await;
            },
        ));
        let url = format!(
            "http://{addr}/_aws/execute-api/{}/{}{path}",
            api.id, args.stage
        );
        let mut req = http::Request::builder()
            .method(args.method.as_str())
            .uri(&url);
        for h in &args.headers {
            let Some((k, v)) = h.split_once(':') else {
                bail!("--header {h:?} is not NAME:VALUE");
            };
            req = req.header(k.trim(), v.trim());
        }
        if args.canary {
            req = req.header(gw::gateway::dispatch::TARGET_HEADER, "canary");
        } else if args.production {
            req = req.header(gw::gateway::dispatch::TARGET_HEADER, "production");
        }
        let body = gw::net::body::full(args.data.clone().unwrap_or_default());
        let req = req
            .body(body)
            .with_context(|| format!("invalid request {} {path}", args.method))?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<gw::net::body::Body>();
        let resp = client.request(req).await.context("the request failed")?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .context("reading the response")?
            .to_bytes();
        if args.include {
            outln!("HTTP/1.1 {}", parts.status);
            for (k, v) in &parts.headers {
                outln!("{k}: {}", v.to_str().unwrap_or("<binary>"));
            }
            outln!();
        }
        use std::io::Write;
        if let Err(e) = std::io::stdout().write_all(&body) {
            exit_on_write_error(&e);
        }
        if !body.ends_with(b"\n") {
            outln!();
        }
        let _ = stop.send(());
        let _ = server.await;
        if !parts.status.is_success() && !parts.status.is_redirection() {
            std::process::exit(22);
        }
        Ok(())
    })
}

fn serve(state: &Option<PathBuf>, args: ServeArgs, demo: Option<Option<PathBuf>>) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("gw=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let store = store(state)?;
    let require_sigv4 = match &args.require_sigv4 {
        None => None,
        Some(pair) => match pair.split_once(':') {
            Some((key, secret)) if !key.is_empty() && !secret.is_empty() => {
                Some((key.to_string(), secret.to_string()))
            }
            _ => bail!(
                "--require-sigv4 {pair:?} is not ACCESS_KEY:SECRET; write it as e.g. --require-sigv4 AKIDLOCAL:localsecret"
            ),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                    "cannot listen on {}: the address is in use; is another gw (or LocalStack) running? choose another with --listen 127.0.0.1:PORT",
                    args.listen
                ),
                _ => anyhow::anyhow!(
                    "cannot listen on {}: {e}; give a local address and port such as --listen 127.0.0.1:4566",
                    args.listen
                ),
            })?;
        if let Some(functions) = &demo {
            gw::demo::prepare(&store, &listener, functions.as_deref()).await?;
        }
        let config = gw::server::Config {
            deployment_header: !args.no_deployment_header,
            require_sigv4,
            access_log: match &args.access_log {
                Some(path) => gw::gateway::access_log::Sink::File(path.clone()),
                None => gw::gateway::access_log::Sink::Stdout,
            },
            ..Default::default()
        };
        gw::server::run(listener, store, config, gw::server::shutdown_signal()).await?;
        Ok(())
    })
}
