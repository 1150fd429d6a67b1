//! The `gw` command line: parses arguments into typed commands, calls the library, prints tables
//! or JSON. `anyhow` lives here only.
//!
//! This file holds the command tree and the dispatch; `commands/` one module per command group
//! (its arguments and bodies); `output` what they print with.

#[macro_use]
mod output;
mod commands;

use clap::{Parser, Subcommand};
use commands::apis::{ApiCommand, ImportArgs, RoutesArgs};
use commands::functions::FunctionCommand;
use commands::invoke::InvokeArgs;
use commands::keys::ApiKeyCommand;
use commands::release::{CanaryArgs, CanaryStage, DeployArgs, DeploymentsArgs, PromoteArgs};
use commands::serve::{DemoArgs, ServeArgs};
use commands::stages::{StageCommand, StagesArgs};
use commands::JsonFlag;
use std::path::PathBuf;

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
    /// The database: postgres://USER:PASSWORD@HOST:PORT/DATABASE, shared by gw nodes on
    /// several machines (default: the SQLite database in the state directory).
    #[arg(long, global = true, env = "GW_STORE", value_name = "URL")]
    store: Option<String>,
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
    Routes(RoutesArgs),
    /// API commands: delete.
    #[command(subcommand)]
    Api(ApiCommand),
    /// Deploy the API to a stage (optionally as the stage's canary, optionally ramped).
    Deploy(DeployArgs),
    /// Change the canary's share of traffic (--percent), pause, resume or abort its ramp, or see
    /// its figures (status).
    Canary(CanaryArgs),
    /// Promote the canary: production takes its deployment and variable overrides; the canary
    /// ends. With --check, only if the canary passes the gates given.
    Promote(PromoteArgs),
    /// Remove the canary without promoting it (production untouched).
    Rollback(CanaryStage),
    /// List stages.
    Stages(StagesArgs),
    /// List deployments.
    Deployments(DeploymentsArgs),
    /// Stage commands: show, history, set-var, unset-var, throttle, access-log, delete.
    #[command(subcommand)]
    Stage(StageCommand),
    /// Function commands: put, delete.
    #[command(subcommand)]
    Function(FunctionCommand),
    /// List WebAssembly functions and their versions.
    Functions(JsonFlag),
    /// Local Cognito user pool commands: create, delete (tokens for tests, without AWS).
    #[command(subcommand, name = "user-pool")]
    UserPool(commands::user_pools::UserPoolCommand),
    /// List local user pools.
    #[command(name = "user-pools")]
    UserPools(JsonFlag),
    /// Print a signed ID or access token of a local user pool.
    Token(commands::user_pools::TokenArgs),
    /// The HTTPS listener's local certificate authority: ca.
    #[command(subcommand)]
    Tls(commands::domains::TlsCommand),
    /// Custom domain names: create, map (a base path to an API stage), unmap, delete.
    #[command(subcommand)]
    Domain(commands::domains::DomainCommand),
    /// List custom domain names and their base-path mappings.
    Domains(JsonFlag),
    /// VPC links: create, register (a target, with --ttl as a heartbeat), deregister, delete.
    #[command(subcommand, name = "vpc-link")]
    VpcLink(commands::links::LinkCommand),
    /// List VPC links with their targets' health and counts (from the running servers).
    #[command(name = "vpc-links")]
    VpcLinks(JsonFlag),
    /// The store itself: copy a state between SQLite and PostgreSQL.
    #[command(subcommand)]
    Store(commands::store_copy::StoreCommand),
    /// List the servers (nodes) on this store: address, version, the generation each serves,
    /// from their heartbeats.
    Nodes(JsonFlag),
    /// Show a function's log: START, its output, END and REPORT per invocation, as Lambda's.
    Logs {
        /// The function's name.
        function: String,
        /// Keep printing new invocations as they come (Ctrl-C to stop).
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// API key commands: create, delete (for methods with apiKeyRequired).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// List API keys and the stages they open.
    #[command(name = "api-keys")]
    ApiKeys(JsonFlag),
    /// Serve every deployed stage on one listener; follows every change live.
    Serve(ServeArgs),
    /// Call a stage's route without a running server (for scripts and tests).
    Invoke(InvokeArgs),
    /// Import the bundled demo API, deploy production and a 10 % canary, and serve it
    /// (`gw demo backend`: only its pet backend).
    #[command(args_conflicts_with_subcommands = true)]
    Demo(DemoArgs),
}

impl Command {
    /// Whether the command writes to the store (and so changes what a running server serves).
    fn changes_state(&self) -> bool {
        match self {
            Command::Import(_)
            | Command::Api(_)
            | Command::Deploy(_)
            | Command::Promote(_)
            | Command::Rollback(_)
            | Command::Function(_)
            | Command::UserPool(_)
            | Command::Domain(_)
            | Command::VpcLink(_)
            | Command::ApiKey(_) => true,
            Command::Stage(s) => s.changes_state(),
            Command::Canary(c) => c.changes_state(),
            Command::Apis(_)
            | Command::Routes(_)
            | Command::Stages(_)
            | Command::Deployments(_)
            | Command::Functions(_)
            | Command::Logs { .. }
            | Command::UserPools(_)
            | Command::Tls(_)
            | Command::Domains(_)
            | Command::VpcLinks(_)
            | Command::Nodes(_)
            | Command::Store(_)
            | Command::Token(_)
            | Command::ApiKeys(_)
            | Command::Serve(_)
            | Command::Invoke(_)
            | Command::Demo(_) => false,
        }
    }
}

fn main() {
    let cli = Cli::parse();
    commands::set_database(cli.store.clone());
    let changes_state = cli.command.changes_state();
    let state = cli.state.clone();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    if changes_state {
        wait_until_served(&state);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    use commands::*;
    let state = &cli.state;
    match cli.command {
        Command::Import(args) => apis::import(state, args),
        Command::Apis(json) => apis::apis(state, json),
        Command::Routes(args) => apis::routes(state, args),
        Command::Api(cmd) => apis::api_command(state, cmd),
        Command::Deploy(args) => release::deploy(state, args),
        Command::Canary(args) => release::canary(state, args),
        Command::Promote(args) => release::promote(state, args),
        Command::Rollback(args) => release::rollback(state, args),
        Command::Deployments(args) => release::deployments(state, args),
        Command::Stages(args) => stages::stages(state, args),
        Command::Stage(cmd) => stages::stage_command(state, cmd),
        Command::Function(cmd) => functions::function_command(state, cmd),
        Command::Functions(json) => functions::functions(state, json),
        Command::Logs { function, follow } => functions::logs(state, &function, follow),
        Command::UserPool(cmd) => commands::user_pools::user_pool_command(state, cmd),
        Command::UserPools(json) => commands::user_pools::list(state, json),
        Command::Token(args) => commands::user_pools::token(state, args),
        Command::Tls(cmd) => commands::domains::tls_command(state, cmd),
        Command::Domain(cmd) => commands::domains::domain_command(state, cmd),
        Command::Domains(json) => commands::domains::list(state, json),
        Command::VpcLink(cmd) => commands::links::link_command(state, cmd),
        Command::VpcLinks(json) => commands::links::list(state, json),
        Command::Nodes(json) => commands::nodes::list(state, json),
        Command::Store(cmd) => commands::store_copy::command(state, cmd),
        Command::ApiKey(cmd) => keys::api_key_command(state, cmd),
        Command::ApiKeys(json) => keys::api_keys(state, json),
        Command::Invoke(args) => invoke::invoke(state, args),
        Command::Serve(args) => serve::serve(state, args),
        Command::Demo(args) => serve::demo(state, args),
    }
}

/// How long a command waits for running servers to serve its change.
const SERVED_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Returns once every `gw serve` running on this state directory serves the change just made,
/// so that `gw deploy ... && curl ...` sees the deployment. A server that does not catch up in
/// time is named on stderr; the change itself is committed either way.
fn wait_until_served(state: &Option<PathBuf>) {
    let Ok(store) = commands::store(state) else {
        return;
    };
    let Ok(generation) = store.generation() else {
        return;
    };
    if store.is_postgres() {
        for n in gw::store::serving::wait_until_nodes_serve(&store, generation, SERVED_WITHIN) {
            eprintln!(
                "warning: gw node {} ({}) has not picked up this change within {} s; it serves the state before it until it does",
                n.id,
                n.host,
                SERVED_WITHIN.as_secs()
            );
        }
        return;
    }
    for b in gw::store::serving::wait_until_served(store.dir(), generation, SERVED_WITHIN) {
        eprintln!(
            "warning: the gw server with process id {} has not picked up this change within {} s; it serves the state before it until it does",
            b.pid,
            SERVED_WITHIN.as_secs()
        );
    }
}
